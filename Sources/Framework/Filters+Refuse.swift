import AgoraProto

extension Agora_V1_Filters {
    /// Filters that keep declined or unused resources away for `seconds`.
    public static func refuse(seconds: Double) -> Agora_V1_Filters {
        var filters = Agora_V1_Filters()
        filters.refuseSeconds = seconds
        return filters
    }
}
