/// The ZeroMQ routing identity of a connected peer, as a ROUTER socket sees it.
///
/// Dealers that set an identity (agents use their agent ID, frameworks their
/// framework ID) keep it across reconnects, so the master's route table stays
/// valid; otherwise libzmq assigns a random 5-byte identity per connection.
public struct PeerID: Hashable, Sendable, CustomStringConvertible {
    /// The raw routing-identity bytes (1…255 bytes; libzmq rejects empty identities).
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// An identity made of the UTF-8 bytes of `string`.
    public init(_ string: String) {
        self.bytes = Array(string.utf8)
    }

    /// The identity as text when it is printable ASCII, otherwise as `0x…` hex.
    public var description: String {
        if !bytes.isEmpty, bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return String(decoding: bytes, as: UTF8.self)
        }
        return "0x" + bytes.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
