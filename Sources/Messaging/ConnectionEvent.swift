/// A change in an endpoint's connections, reported on its `events` stream.
public enum ConnectionEvent: Sendable, Equatable {
    /// ROUTER: a peer sent its first message on a new connection.
    case peerConnected(PeerID)
    /// ROUTER: the connection a peer used has closed or stopped answering heartbeats.
    case peerDisconnected(PeerID)
    /// DEALER: the connection to the remote endpoint is up (after the handshake).
    case connected(endpoint: String)
    /// DEALER: the connection is lost; ZeroMQ keeps reconnecting with backoff.
    case disconnected(endpoint: String)
    /// A connection failed the ZeroMQ handshake (for example, random bytes on the port).
    case handshakeFailed(endpoint: String)
}

/// An envelope received by a ROUTER, with the identity of the peer that sent it.
public struct InboundMessage: Sendable {
    public let peer: PeerID
    public let envelope: AgoraProto.Agora_V1_Envelope

    public init(peer: PeerID, envelope: AgoraProto.Agora_V1_Envelope) {
        self.peer = peer
        self.envelope = envelope
    }
}

import AgoraProto
