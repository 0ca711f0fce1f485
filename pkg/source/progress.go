package source

// ByteCounter is an optional interface of a Sink. A sink that has it is
// told, as a source reads, how many bytes of its input the source has
// consumed so far, so a progress display can show them. The CSV reader
// calls it from the extracting goroutine after each read of the file (about
// every 64 KiB); source types that cannot count as they go do not call it.
type ByteCounter interface {
	BytesRead(total int64)
}
