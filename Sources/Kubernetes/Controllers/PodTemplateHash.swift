/// The `pod-template-hash` of a Deployment's pod template: FNV-32a over the template's
/// JSON (keys sorted, plus the collision count when set), written as its decimal
/// digits mapped into Kubernetes' safe alphabet, as `SafeEncodeString` does.
public enum PodTemplateHash {
    /// Characters that cannot spell words (no vowels, no 0/1/3 lookalikes).
    static let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")

    public static func hash(template: JSONValue, collisionCount: Int64? = nil) -> String {
        var bytes = Array(template.encoded())
        if let collisionCount { bytes += Array(String(collisionCount).utf8) }
        return safeEncode(String(fnv32a(bytes)))
    }

    /// FNV-1a, 32 bits.
    static func fnv32a(_ bytes: [UInt8]) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }

    /// Each byte of `text` replaced by `alphabet[byte % 27]`.
    static func safeEncode(_ text: String) -> String {
        String(text.utf8.map { alphabet[Int($0) % alphabet.count] })
    }
}
