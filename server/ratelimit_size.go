package server

// Clients is how many clients the limiter remembers now (at most its
// maxClients): for a gauge, and for tests that check memory stays bounded.
func (l *IPLimiter) Clients() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
