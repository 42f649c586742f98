import Crypto
import Foundation
import TestSupport
import Testing

@testable import TLS

#if canImport(Glibc)
import Glibc
#endif

/// A fixed test key: seed bytes all equal to `number`.
func testKey(_ number: UInt8) -> Ed25519.PrivateKey {
    try! Ed25519.PrivateKey(seed: [UInt8](repeating: number, count: 32))
}

/// A context for `key` that accepts the public keys of `allowed`.
func context(_ key: Ed25519.PrivateKey, allowing allowed: [Ed25519.PrivateKey]) throws -> TLSContext {
    try TLSContext(privateKey: key, allowedPeerKeys: Set(allowed.map(\.publicKey)))
}

/// The result of work started on its own thread (blocking socket work never runs on Dispatch's pool).
final class Background<Value: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Value?

    init(_ body: @escaping @Sendable () -> Value) {
        let thread = Thread { [self] in
            let result = body()
            condition.lock()
            value = result
            condition.broadcast()
            condition.unlock()
        }
        thread.start()
    }

    /// Waits for the result (the bodies used in tests all end within their own timeouts).
    func wait() -> Value {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}

/// Runs the server handshake in the background and the client handshake here; returns both outcomes.
func handshake(
    _ pair: SocketPair, server: TLSContext, client: TLSContext, expecting expected: Ed25519.PublicKey,
    timeoutMs: Int = 5_000
) -> (server: Result<TLSConnection, TLSError>, client: Result<TLSConnection, TLSError>) {
    let serverSide = Background { () -> Result<TLSConnection, TLSError> in
        do throws(TLSError) {
            return .success(try TLSConnection.accept(descriptor: pair.server, context: server, timeoutMs: timeoutMs))
        } catch { return .failure(error) }
    }
    let clientSide: Result<TLSConnection, TLSError>
    do throws(TLSError) {
        clientSide = .success(try TLSConnection.connect(
            descriptor: pair.client, context: client, expectedPeerKey: expected, timeoutMs: timeoutMs))
    } catch {
        clientSide = .failure(error)
    }
    return (serverSide.wait(), clientSide)
}

extension Result where Failure == TLSError {
    var error: TLSError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// Reads exactly `count` bytes.
func readExactly(_ connection: TLSConnection, _ count: Int, timeoutMs: Int = 5_000) throws(TLSError) -> [UInt8] {
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16 * 1024)
    while received.count < count {
        let got = try connection.read(into: &buffer, timeoutMs: timeoutMs)
        received += buffer[0..<got]
    }
    return received
}

func elapsedMs(since start: ContinuousClock.Instant) -> Int {
    let elapsed = ContinuousClock.now - start
    return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
}
