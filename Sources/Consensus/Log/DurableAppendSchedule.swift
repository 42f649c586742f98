/// Which decided blocks a validator's chain store appends durably (synced to disk). The others are appended
/// without a sync, and the write-ahead log keeps their heights until a durable append, so a height costs no
/// sync of the store (docs/CONSENSUS.md section 10). One height in `interval` is durable, at heights
/// staggered by the validator's position in the genesis, so that the validators' syncs fall at different
/// heights and a height waits for at most one of them; and so is the first block after the store was
/// opened once `interval` heights have passed since its last durable one.
public struct DurableAppendSchedule: Sendable, Hashable {
    public let interval: UInt64
    private let offset: UInt64

    public init(interval: UInt64, ownIndex: Int, validatorCount: Int) {
        precondition(interval > 0 && validatorCount > 0 && (0..<validatorCount).contains(ownIndex),
                     "a durable append needs an interval of at least one height and a validator of the genesis")
        self.interval = interval
        offset = UInt64(ownIndex) * interval / UInt64(validatorCount)
    }

    /// Whether the block decided at `height` is appended durably, the store being durable through
    /// `durableHeight`.
    public func isDurable(_ height: UInt64, durableHeight: UInt64) -> Bool {
        (height + offset) % interval == 0 || height >= durableHeight + interval
    }
}
