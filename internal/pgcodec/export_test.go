package pgcodec

// SetMaxMessageLen lowers the message limit for a test, so that it needs no
// 1 GB value; it returns the function that restores it.
func SetMaxMessageLen(n int) (restore func()) {
	old := maxMessageLen
	maxMessageLen = n
	return func() { maxMessageLen = old }
}
