import Testing

@testable import Transport

/// The frame codec alone: length-prefixed payloads, keepalives, and the size limit checked from the header.
@Suite struct PeerFrameTests {
    @Test func encodesABigEndianLengthThenThePayload() {
        #expect(PeerFrame.encode([0xAA]) == [0, 0, 0, 1, 0xAA])
        let payload = [UInt8](repeating: 7, count: 0x01_02_03)
        #expect(Array(PeerFrame.encode(payload).prefix(4)) == [0x00, 0x01, 0x02, 0x03])
        #expect(PeerFrame.encode(payload).count == 4 + payload.count)
    }

    @Test func decodesFramesSplitAtEveryPossibleByte() throws {
        let payloads: [[UInt8]] = [[1], Array(0..<200), [9, 9, 9]]
        let stream = PeerFrame.keepalive + payloads.flatMap(PeerFrame.encode) + PeerFrame.keepalive
        for split in 0...stream.count {
            var decoder = PeerFrameDecoder(maxPayloadBytes: 1_000)
            var decoded: [[UInt8]] = []
            for part in [stream[0..<split], stream[split...]] {
                decoder.append(part)
                while let payload = try decoder.next() { decoded.append(payload) }
            }
            #expect(decoded == [[]] + payloads + [[]], "split at \(split)")
            #expect(decoder.bufferedByteCount == 0)
        }
    }

    @Test func waitsForTheWholePayload() throws {
        var decoder = PeerFrameDecoder(maxPayloadBytes: 100)
        decoder.append(PeerFrame.encode([1, 2, 3, 4]).prefix(6)[...])
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 6)
    }

    @Test func refusesAnOversizedLengthFromTheHeaderAlone() {
        var decoder = PeerFrameDecoder(maxPayloadBytes: 1_024)
        decoder.append([0x00, 0x00, 0x04, 0x01][...])  // 1025, and not one payload byte sent
        #expect(throws: PeerFrameError.tooLarge(announcedBytes: 1_025, maxBytes: 1_024)) { try decoder.next() }
        var largest = PeerFrameDecoder(maxPayloadBytes: 1_024)
        largest.append([0xFF, 0xFF, 0xFF, 0xFF][...])
        #expect(throws: PeerFrameError.tooLarge(announcedBytes: 0xFFFF_FFFF, maxBytes: 1_024)) { try largest.next() }
    }

    @Test func acceptsAFrameOfExactlyTheLimit() throws {
        var decoder = PeerFrameDecoder(maxPayloadBytes: 1_024)
        decoder.append(PeerFrame.encode([UInt8](repeating: 3, count: 1_024))[...])
        #expect(try decoder.next()?.count == 1_024)
    }

    @Test func aRaisedLimitAppliesToTheNextFrame() throws {
        var decoder = PeerFrameDecoder(maxPayloadBytes: 8)
        decoder.append((PeerFrame.encode([1]) + PeerFrame.encode([UInt8](repeating: 2, count: 20)))[...])
        #expect(try decoder.next() == [1])
        #expect(throws: PeerFrameError.self) { try decoder.next() }
        decoder.maxPayloadBytes = 64
        #expect(try decoder.next()?.count == 20)
    }

    @Test func manyFramesThroughOneDecoderKeepTheBufferSmall() throws {
        var decoder = PeerFrameDecoder(maxPayloadBytes: 4_096)
        let frame = PeerFrame.encode([UInt8](repeating: 5, count: 1_000))
        var decoded = 0
        for _ in 0..<2_000 {
            decoder.append(frame[...] + frame[0..<3])  // a frame and the start of the next
            while try decoder.next() != nil { decoded += 1 }
            decoder.append(frame[3...])
            while try decoder.next() != nil { decoded += 1 }
            #expect(decoder.bufferedByteCount == 0)
        }
        #expect(decoded == 4_000)
    }
}
