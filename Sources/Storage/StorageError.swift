import Ledger
import SQLite

/// A failure at the storage edge. Safe to print: paths, heights and SQL, never record content.
public enum StorageError: Error, CustomStringConvertible {
    case database(SQLiteError)
    /// The data directory belongs to another chain or genesis.
    case genesisMismatch(path: String)
    /// Stored bytes no longer decode or link: the file was modified or damaged.
    case corrupt(path: String, detail: String)
    case io(operation: String, path: String, detail: String)
    /// A block that does not extend the stored chain.
    case notNextBlock(expectedHeight: UInt64, got: UInt64)

    public var description: String {
        switch self {
        case let .database(error):
            return "database error: \(error)"
        case let .genesisMismatch(path):
            return "\(path) holds a chain for a different genesis; use the matching genesis file or another data directory"
        case let .corrupt(path, detail):
            return "\(path) is damaged (\(detail)); restore it from a backup or re-sync"
        case let .io(operation, path, detail):
            return "cannot \(operation) \(path): \(detail)"
        case let .notNextBlock(expected, got):
            return "block \(got) does not extend the chain (next height is \(expected))"
        }
    }
}

extension StorageError {
    /// Wraps any error thrown inside a storage operation.
    public static func wrap(_ error: any Error) -> StorageError {
        switch error {
        case let error as StorageError: return error
        case let error as SQLiteError: return .database(error)
        default: return .io(operation: "complete a storage operation", path: "", detail: String(describing: error))
        }
    }
}
