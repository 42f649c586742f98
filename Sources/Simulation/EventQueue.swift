/// A priority queue of timed events: the simulator's whole notion of "later". Events come out in time
/// order, and events at the same time in the order they were scheduled, so a run is a pure function of
/// its seed (no tie is broken by anything but the schedule order).
struct EventQueue<Event> {
    private struct Entry {
        let timeMs: UInt64
        let sequence: UInt64
        let event: Event

        func precedes(_ other: Entry) -> Bool { (timeMs, sequence) < (other.timeMs, other.sequence) }
    }

    private var heap: [Entry] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }

    mutating func schedule(_ event: Event, atMs timeMs: UInt64) {
        heap.append(Entry(timeMs: timeMs, sequence: nextSequence, event: event))
        nextSequence += 1
        siftUp(heap.count - 1)
    }

    /// The earliest event and its time.
    mutating func next() -> (timeMs: UInt64, event: Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let entry = heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
        return (entry.timeMs, entry.event)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            var smallest = parent
            for child in [2 * parent + 1, 2 * parent + 2] where child < heap.count && heap[child].precedes(heap[smallest]) {
                smallest = child
            }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
