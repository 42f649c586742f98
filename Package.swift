// swift-tools-version:6.0
// HealthLedger: a permissioned health-record ledger node.
//
// Layers, dependencies pointing down (see docs/ARCHITECTURE.md):
//   healthledger (CLI)       thin: parse arguments, call libraries
//   Node    (runtime: mempool, block producer, consensus driver, access gateway, clinical services, API routes)
//   Transport (HTTP/1.1 server and client, TLS peer links)     edge: sockets
//   Storage (SQLite chain store, record vault, export files)   edge: files
//   Simulation (deterministic consensus simulator; test support, never linked by the node)
//   Consensus (Tendermint state machine, messages, WAL records) pure, deterministic
//   Ledger  (canonical encoding, events, blocks, policy, audit) pure, deterministic
//   Crypto  (libcrypto)  TLS (libssl)  SQLite (sqlite3)         one wrapper per C library
//   COpenSSL, CSQLite        system libraries
// No SwiftPM package dependencies: only OpenSSL 3 and SQLite 3 from the system.
import PackageDescription

let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "HealthLedger",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Ledger", targets: ["Ledger"]),
        .library(name: "Storage", targets: ["Storage"]),
        .executable(name: "healthledger", targets: ["HealthLedgerCLI"]),
        .executable(name: "healthledger-bench", targets: ["Bench"]),
        .executable(name: "healthledger-simulate", targets: ["Simulate"]),
    ],
    targets: [
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

        .target(name: "Threads", swiftSettings: swiftSettings),
        .target(name: "Crypto", dependencies: ["COpenSSL"], swiftSettings: swiftSettings),
        .target(name: "TLS", dependencies: ["COpenSSL", "Crypto"], swiftSettings: swiftSettings),
        .target(name: "SQLite", dependencies: ["CSQLite"], swiftSettings: swiftSettings),
        .target(name: "Ledger", dependencies: ["Crypto"], swiftSettings: swiftSettings),
        .target(name: "Storage", dependencies: ["Ledger", "Crypto", "SQLite", "Threads"], swiftSettings: swiftSettings),
        .target(name: "Transport", dependencies: ["TLS", "Crypto", "Threads"], swiftSettings: swiftSettings),
        .target(name: "Node", dependencies: ["Storage", "Ledger", "Crypto", "Transport", "Consensus", "Clinical", "Threads"], swiftSettings: swiftSettings),
        .executableTarget(name: "HealthLedgerCLI", dependencies: ["Node", "Storage", "Ledger", "Crypto", "Transport", "Clinical"], swiftSettings: swiftSettings),
        .target(name: "TestSupport", dependencies: ["Ledger"], swiftSettings: swiftSettings),
        .target(name: "Clinical", exclude: ["Models"], swiftSettings: swiftSettings),
        .target(name: "Consensus", dependencies: ["Ledger"], swiftSettings: swiftSettings),
        .target(name: "Simulation", dependencies: ["Consensus", "Ledger", "TestSupport"], swiftSettings: swiftSettings),
        .executableTarget(name: "Simulate", dependencies: ["Simulation"], swiftSettings: swiftSettings),
        .executableTarget(name: "Bench", dependencies: ["Node", "Transport", "TLS", "Storage", "Ledger", "Crypto", "TestSupport", "Clinical"], swiftSettings: swiftSettings),

        .testTarget(name: "ThreadsTests", dependencies: ["Threads"], swiftSettings: swiftSettings),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto"], exclude: ["Vectors"], swiftSettings: swiftSettings),
        .testTarget(name: "SQLiteTests", dependencies: ["SQLite"], swiftSettings: swiftSettings),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "Crypto", "TestSupport"], exclude: ["Vectors"], swiftSettings: swiftSettings),
        .testTarget(name: "TLSTests", dependencies: ["TLS", "Crypto", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "TransportTests", dependencies: ["Transport", "TLS", "Crypto", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "NodeTests", dependencies: ["Node", "Storage", "Ledger", "Crypto", "Transport", "TestSupport", "Consensus", "Clinical"], swiftSettings: swiftSettings),
        .testTarget(name: "CLITests", dependencies: ["Ledger", "Crypto", "Storage", "TestSupport"], exclude: ["Golden"], swiftSettings: swiftSettings),
        .testTarget(name: "ClinicalTests", dependencies: ["Clinical", "Crypto"], exclude: ["Vectors"], swiftSettings: swiftSettings),
        .testTarget(name: "ConsensusTests", dependencies: ["Consensus", "Ledger", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "Consensus", "Ledger", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "Ledger", "Crypto", "SQLite", "TestSupport"], swiftSettings: swiftSettings),
    ]
)
