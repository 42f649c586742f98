import Foundation
import Testing
@testable import Storage
import TestSupport

/// The signer state file of earlier versions is read (both formats), honoured, and removed; nothing writes it.
@Suite struct SignerStateFileTests {
    private func write(_ bytes: [UInt8], to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    /// A file of the second format with `slots` (save counter and state) in the first and second slot.
    private func secondFormat(_ slots: [(saves: UInt64, state: [UInt8])?]) -> [UInt8] {
        var contents = SignerStateFile.magic + [UInt8](repeating: 0, count: 3 * 4096 - SignerStateFile.magic.count)
        for (index, slot) in slots.enumerated() {
            guard let slot else { continue }
            let frame = WriteAheadLog.frame(slot.saves.bigEndianBytes + slot.state)
            contents.replaceSubrange((index + 1) * 4096..<(index + 1) * 4096 + frame.count, with: frame)
        }
        return contents
    }

    /// The valid slot with the higher save counter is the state; a slot damaged by a save torn in a crash
    /// leaves the other (the save before it, whose signature was the last that left the node).
    @Test func theNewerValidSlotIsTheState() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("signer.state")
        #expect(try SignerStateFile(path: path).loaded == nil)
        try write(secondFormat([(6, [6, 6]), (5, [5, 5])]), to: path)
        #expect(try SignerStateFile(path: path).loaded == [6, 6])
        try write(secondFormat([(6, [6, 6]), (7, [7, 7, 7])]), to: path)
        #expect(try SignerStateFile(path: path).loaded == [7, 7, 7])
        var torn = secondFormat([(6, [6, 6]), (7, [7, 7, 7])])
        torn[2 * 4096 + 21] ^= 0xff
        try write(torn, to: path)
        #expect(try SignerStateFile(path: path).loaded == [6, 6])
        #expect(try SignerStateFile(path: path).loaded == [6, 6], "reading changes nothing")
    }

    @Test func aFileWithNoValidSlotIsRefused() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("signer.state")
        var bytes = secondFormat([(1, [1, 2, 3]), (2, [4, 5, 6])])
        for slot in [4096, 8192] { bytes[slot + 13] ^= 0xff }
        try write(bytes, to: path)
        #expect(throws: StorageError.self) { try SignerStateFile(path: path) }
        try write(Array(secondFormat([(1, [1])]).dropLast()), to: path)
        #expect(throws: StorageError.self) { try SignerStateFile(path: path) }
        try write(secondFormat([nil, nil]), to: path)
        #expect(throws: StorageError.self) { try SignerStateFile(path: path) }
        try write(Array("not a signer state".utf8), to: path)
        #expect(throws: StorageError.self) { try SignerStateFile(path: path) }
    }

    /// A file of the first format: one frame after its magic line.
    @Test func aFirstFormatFileIsRead() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("signer.state")
        let state: [UInt8] = [1, 2, 3, 4]
        // healthledger-signer-state/1: magic, u32 length, first 8 bytes of SHA-256(state), state.
        let checksum: [UInt8] = [0x9f, 0x64, 0xa7, 0x47, 0xe1, 0xb9, 0x7f, 0x13]
        try write(Array("healthledger-signer-state/1\n".utf8) + [0, 0, 0, 4] + checksum + state, to: path)
        #expect(try SignerStateFile(path: path).loaded == state)
        var damaged = Array("healthledger-signer-state/1\n".utf8) + [0, 0, 0, 4] + checksum + state
        damaged[damaged.count - 1] ^= 1
        try write(damaged, to: path)
        #expect(throws: StorageError.self) { try SignerStateFile(path: path) }
    }

    @Test func removingDeletesTheFile() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("signer.state")
        try write(secondFormat([(1, [1])]), to: path)
        let file = try SignerStateFile(path: path)
        try file.remove()
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try SignerStateFile(path: path).loaded == nil)
        try file.remove()
    }
}
