import Foundation

/// Whether the kernel has the IPv6 loopback address `::1` (a container may run without IPv6), for the tests
/// that use it to skip with a clear message otherwise. Read from `/proc/net/if_inet6`, not by opening a
/// socket through the code under test, so that broken IPv6 support fails those tests rather than skips them.
public let ipv6LoopbackAvailable = ((try? String(contentsOfFile: "/proc/net/if_inet6", encoding: .utf8)) ?? "")
    .contains("00000000000000000000000000000001")
