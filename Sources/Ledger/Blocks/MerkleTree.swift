import Crypto

/// The RFC 6962 (Certificate Transparency, also RFC 9162 section 2.1) Merkle tree over a block's entries.
///
/// Leaves and interior nodes are hashed with different one-byte prefixes (0x00 and 0x01), so a leaf can
/// never be passed off as a node. With it a single event can be proven included in a block by a path of
/// about log2(n) hashes.
public enum MerkleTree {
    /// SHA-256(0x00 || entry bytes).
    public static func leafHash(_ entryBytes: [UInt8]) -> SHA256Digest {
        var hasher = SHA256()
        hasher.update([0x00])
        hasher.update(entryBytes)
        return hasher.finalize()
    }

    /// SHA-256(0x01 || left || right).
    public static func nodeHash(_ left: SHA256Digest, _ right: SHA256Digest) -> SHA256Digest {
        SHA256.hash([0x01] + left.bytes + right.bytes)
    }

    /// The tree head MTH(D[n]); the hash of the empty string when there are no leaves.
    public static func root(leafHashes: [SHA256Digest]) -> SHA256Digest {
        guard !leafHashes.isEmpty else { return SHA256.hash([]) }
        return subtreeRoot(leafHashes[...])
    }

    private static func subtreeRoot(_ leaves: ArraySlice<SHA256Digest>) -> SHA256Digest {
        if leaves.count == 1 { return leaves.first! }
        let split = leaves.startIndex + largestPowerOfTwo(below: leaves.count)
        return nodeHash(subtreeRoot(leaves[..<split]), subtreeRoot(leaves[split...]))
    }

    /// The largest power of two strictly smaller than `count` (count > 1).
    private static func largestPowerOfTwo(below count: Int) -> Int {
        precondition(count > 1)
        var power = 1
        while power << 1 < count { power <<= 1 }
        return power
    }

    /// The audit path PATH(m, D[n]) proving leaf `index` is in the tree, from the leaf upwards.
    public static func inclusionProof(leafIndex index: Int, leafHashes: [SHA256Digest]) -> [SHA256Digest] {
        precondition(index >= 0 && index < leafHashes.count, "leaf index out of range")
        return path(index, leafHashes[...])
    }

    private static func path(_ index: Int, _ leaves: ArraySlice<SHA256Digest>) -> [SHA256Digest] {
        guard leaves.count > 1 else { return [] }
        let k = largestPowerOfTwo(below: leaves.count)
        let split = leaves.startIndex + k
        if index < k {
            return path(index, leaves[..<split]) + [subtreeRoot(leaves[split...])]
        }
        return path(index - k, leaves[split...]) + [subtreeRoot(leaves[..<split])]
    }

    /// Checks an inclusion proof (RFC 9162 section 2.1.3.2) of the leaf at `index` among `treeSize` leaves.
    public static func verifyInclusion(
        leafHash: SHA256Digest, leafIndex index: Int, treeSize: Int, proof: [SHA256Digest], root: SHA256Digest
    ) -> Bool {
        guard index >= 0, index < treeSize else { return false }
        var fn = index
        var sn = treeSize - 1
        var hash = leafHash
        for sibling in proof {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                hash = nodeHash(sibling, hash)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                hash = nodeHash(hash, sibling)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && hash == root
    }
}
