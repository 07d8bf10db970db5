/// GET `/v2/info`: who this server is and how it is configured.
///
/// The three config objects must be present (the Python client fails without them)
/// and carry only keys the client knows; unset ones are left out.
public struct InfoJSON: Sendable, Hashable, Codable {
    public var name: String
    public var version: String
    public var buildref: String
    public var elected: Bool
    /// `host:port` of the leader.
    public var leader: String?
    public var frameworkId: String?
    public var marathonConfig: MarathonConfigJSON
    public var zookeeperConfig: ZooKeeperConfigJSON
    public var httpConfig: HTTPConfigJSON

    public init(name: String = "agora-marathon", version: String, buildref: String, elected: Bool, leader: String?,
                frameworkId: String?, marathonConfig: MarathonConfigJSON,
                zookeeperConfig: ZooKeeperConfigJSON = ZooKeeperConfigJSON(), httpConfig: HTTPConfigJSON) {
        self.name = name
        self.version = version
        self.buildref = buildref
        self.elected = elected
        self.leader = leader
        self.frameworkId = frameworkId
        self.marathonConfig = marathonConfig
        self.zookeeperConfig = zookeeperConfig
        self.httpConfig = httpConfig
    }

    private enum CodingKeys: String, CodingKey {
        case name, version, buildref, elected, leader, frameworkId
        case marathonConfig = "marathon_config"
        case zookeeperConfig = "zookeeper_config"
        case httpConfig = "http_config"
    }
}

/// `marathon_config`: the settings of this framework that Marathon reports.
public struct MarathonConfigJSON: Sendable, Hashable, Codable {
    /// The master's address.
    public var master: String?
    public var frameworkName: String?
    public var hostname: String?
    public var webuiUrl: String?
    /// Seconds the master keeps the framework's tasks after it disconnects.
    public var failoverTimeout: Int?
    public var checkpoint: Bool?
    public var ha: Bool?
    public var localPortMin: Int?
    public var localPortMax: Int?
    public var mesosRole: String?
    public var mesosUser: String?
    /// Milliseconds, as Marathon reports them.
    public var taskLaunchTimeout: Int?
    public var reconciliationInitialDelay: Int?
    public var reconciliationInterval: Int?
    /// Milliseconds an unused offer is declined for.
    public var declineOfferDuration: Int?
    public var maxInstancesPerOffer: Int?
    public var minReviveOffersInterval: Int?
    public var features: [String]?

    public init(master: String? = nil, frameworkName: String? = nil, hostname: String? = nil, webuiUrl: String? = nil,
                failoverTimeout: Int? = nil, checkpoint: Bool? = nil, ha: Bool? = nil, localPortMin: Int? = nil,
                localPortMax: Int? = nil, mesosRole: String? = nil, mesosUser: String? = nil,
                taskLaunchTimeout: Int? = nil, reconciliationInitialDelay: Int? = nil,
                reconciliationInterval: Int? = nil, declineOfferDuration: Int? = nil, maxInstancesPerOffer: Int? = nil,
                minReviveOffersInterval: Int? = nil, features: [String]? = nil) {
        self.master = master
        self.frameworkName = frameworkName
        self.hostname = hostname
        self.webuiUrl = webuiUrl
        self.failoverTimeout = failoverTimeout
        self.checkpoint = checkpoint
        self.ha = ha
        self.localPortMin = localPortMin
        self.localPortMax = localPortMax
        self.mesosRole = mesosRole
        self.mesosUser = mesosUser
        self.taskLaunchTimeout = taskLaunchTimeout
        self.reconciliationInitialDelay = reconciliationInitialDelay
        self.reconciliationInterval = reconciliationInterval
        self.declineOfferDuration = declineOfferDuration
        self.maxInstancesPerOffer = maxInstancesPerOffer
        self.minReviveOffersInterval = minReviveOffersInterval
        self.features = features
    }

    private enum CodingKeys: String, CodingKey {
        case master, hostname, checkpoint, ha, features
        case frameworkName = "framework_name"
        case webuiUrl = "webui_url"
        case failoverTimeout = "failover_timeout"
        case localPortMin = "local_port_min"
        case localPortMax = "local_port_max"
        case mesosRole = "mesos_role"
        case mesosUser = "mesos_user"
        case taskLaunchTimeout = "task_launch_timeout"
        case reconciliationInitialDelay = "reconciliation_initial_delay"
        case reconciliationInterval = "reconciliation_interval"
        case declineOfferDuration = "decline_offer_duration"
        case maxInstancesPerOffer = "max_instances_per_offer"
        case minReviveOffersInterval = "min_revive_offers_interval"
    }
}

/// `zookeeper_config`: Agora uses no ZooKeeper, so this is normally empty (`{}`); the
/// keys exist for a future replicated store.
public struct ZooKeeperConfigJSON: Sendable, Hashable, Codable {
    public var zk: String?
    public var zkTimeout: Int?
    public var zkSessionTimeout: Int?
    public var zkMaxVersions: Int?

    public init(zk: String? = nil, zkTimeout: Int? = nil, zkSessionTimeout: Int? = nil, zkMaxVersions: Int? = nil) {
        self.zk = zk
        self.zkTimeout = zkTimeout
        self.zkSessionTimeout = zkSessionTimeout
        self.zkMaxVersions = zkMaxVersions
    }

    private enum CodingKeys: String, CodingKey {
        case zk
        case zkTimeout = "zk_timeout"
        case zkSessionTimeout = "zk_session_timeout"
        case zkMaxVersions = "zk_max_versions"
    }
}

/// `http_config`: the REST port(s).
public struct HTTPConfigJSON: Sendable, Hashable, Codable {
    public var httpPort: Int
    public var httpsPort: Int?

    public init(httpPort: Int, httpsPort: Int? = nil) {
        self.httpPort = httpPort
        self.httpsPort = httpsPort
    }

    private enum CodingKeys: String, CodingKey {
        case httpPort = "http_port"
        case httpsPort = "https_port"
    }
}
