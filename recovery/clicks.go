package recovery

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// ClickRecorder writes restore-link clicks in batches behind the shopper's
// redirect. A click is analytics, not state: the redirect does not wait
// for its commit. Close writes what is queued, so a normal shutdown loses
// none; only a crash can lose the last moment's clicks (at most
// clickGather of them, plus a commit).
type ClickRecorder struct {
	store  Store
	logger *slog.Logger
	queue  chan *Click
	mu     sync.RWMutex
	closed bool
	done   chan struct{}
}

// clickBatch bounds one batch's transaction.
const clickBatch = 4096

// clickGather is how long a batch waits for more clicks after its first:
// under a burst, one commit a gathering instead of one per few clicks
// leaves the store's writer and the CPU to the redirects.
const clickGather = 20 * time.Millisecond

// NewClickRecorder starts a recorder that queues up to capacity clicks;
// when the queue is full, Record declines and the caller writes itself.
func NewClickRecorder(store Store, capacity int, logger *slog.Logger) *ClickRecorder {
	if logger == nil {
		logger = slog.Default()
	}
	r := &ClickRecorder{store: store, logger: logger, queue: make(chan *Click, capacity), done: make(chan struct{})}
	go r.run()
	return r
}

// Record queues a click and reports whether it was taken.
func (r *ClickRecorder) Record(c *Click) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return false
	}
	select {
	case r.queue <- c:
		return true
	default:
		return false
	}
}

// Close stops taking clicks and returns once the queued ones are written.
func (r *ClickRecorder) Close() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.mu.Unlock()
	<-r.done
}

func (r *ClickRecorder) run() {
	defer close(r.done)
	batch := make([]*Click, 0, clickBatch)
	gather := time.NewTimer(clickGather)
	for c := range r.queue {
		batch = append(batch[:0], c)
		gather.Reset(clickGather)
	fill:
		for len(batch) < clickBatch {
			select {
			case c, ok := <-r.queue:
				if !ok {
					break fill // closing: write what is here at once
				}
				batch = append(batch, c)
			case <-gather.C:
				break fill
			}
		}
		gather.Stop()
		err := r.store.Update(context.Background(), func(tx Tx) error {
			for _, c := range batch {
				// A cart erased since the click leaves nothing to count.
				if err := tx.PutClick(c); err != nil && ErrorCode(err) != ENOTFOUND {
					return err
				}
			}
			return nil
		})
		if err != nil {
			r.logger.Error("record clicks", "clicks", len(batch), "error", err)
		}
	}
}
