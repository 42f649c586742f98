import Crypto
import Foundation
import TestSupport
import Testing

@testable import TLS

/// The pin: a peer is accepted only with a certificate key from the allowed set, and a dialer only with the
/// key it expected at that address. Each refusal is checked on both ends of a real handshake.
@Suite struct KeyPinningTests {
    let alice = testKey(1)
    let bob = testKey(2)
    let carol = testKey(3)
    let mallory = testKey(66)

    @Test func aServerRefusesAClientWhoseKeyIsNotPinned() throws {
        let pair = SocketPair()
        // Mallory trusts Alice, but Alice does not list Mallory.
        let outcome = handshake(
            pair, server: try context(alice, allowing: [bob]), client: try context(mallory, allowing: [alice]),
            expecting: alice.publicKey)
        #expect(outcome.server.error == .peerKeyNotAllowed)
        // TLS 1.3: the client's handshake completes before the server judges it; the refusal arrives as an alert.
        if case .success(let client) = outcome.client {
            var buffer = [UInt8](repeating: 0, count: 64)
            do throws(TLSError) {
                _ = try client.read(into: &buffer, timeoutMs: 2_000)
                Issue.record("an unpinned client read data")
            } catch {
                guard case .refusedByPeer = error else {
                    Issue.record("expected the server's alert, got \(error)")
                    return
                }
            }
        }
    }

    @Test func aClientRefusesAServerWhoseKeyIsNotPinned() throws {
        let pair = SocketPair()
        // Bob dials what he believes is Alice, but Mallory answers (Mallory accepts Bob).
        let outcome = handshake(
            pair, server: try context(mallory, allowing: [bob]), client: try context(bob, allowing: [alice]),
            expecting: alice.publicKey)
        #expect(outcome.client.error == .peerKeyNotAllowed)
        guard case .failure(let serverError) = outcome.server, case .refusedByPeer = serverError else {
            Issue.record("the server should see Bob's alert, got \(outcome.server)")
            return
        }
    }

    @Test func aDialerRefusesAPinnedKeyThatIsNotTheOneItExpected() throws {
        let pair = SocketPair()
        // Bob dials Alice's address but Carol, another genuine validator, answers.
        let outcome = handshake(
            pair, server: try context(carol, allowing: [bob]), client: try context(bob, allowing: [alice, carol]),
            expecting: alice.publicKey)
        #expect(outcome.client.error == .peerKeyUnexpected)
        #expect(outcome.server.error != nil)
    }

    @Test func theExpectedKeyMustBeOneOfTheAllowedKeys() throws {
        let pair = SocketPair()
        let bobsContext = try context(bob, allowing: [alice])
        #expect(throws: TLSError.peerKeyNotAllowed) {
            _ = try TLSConnection.connect(
                descriptor: pair.client, context: bobsContext, expectedPeerKey: carol.publicKey, timeoutMs: 1_000)
        }
    }

    @Test func anEmptyAllowedSetRefusesEveryone() throws {
        let pair = SocketPair()
        let outcome = handshake(
            pair, server: try context(alice, allowing: []), client: try context(bob, allowing: [alice]),
            expecting: alice.publicKey)
        #expect(outcome.server.error == .peerKeyNotAllowed)
    }

    @Test func judgementCoversEveryCase() throws {
        let allowed: Set = [alice.publicKey, bob.publicKey]
        #expect(KeyPinning.judge(nil, allowed: allowed, expected: nil) == .notEd25519)
        #expect(KeyPinning.judge(carol.publicKey, allowed: allowed, expected: nil) == .notAllowed)
        #expect(KeyPinning.judge(bob.publicKey, allowed: allowed, expected: alice.publicKey) == .unexpected)
        #expect(KeyPinning.judge(bob.publicKey, allowed: allowed, expected: nil) == .accepted(bob.publicKey))
        #expect(KeyPinning.judge(alice.publicKey, allowed: allowed, expected: alice.publicKey) == .accepted(alice.publicKey))
    }
}
