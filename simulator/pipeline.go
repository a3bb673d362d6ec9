package simulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ftpsgw/ftpsgw/simulator/control"
	"github.com/ftpsgw/ftpsgw/simulator/internal/clock"
	"github.com/ftpsgw/ftpsgw/simulator/internal/receipt"
	"github.com/ftpsgw/ftpsgw/simulator/internal/store"
)

// The receipt pipeline. Every accepted upload has a delivery row that moves
//
//	queued --(backend up)--> delivered [_1] --(processing delay)--> done [_2 or _0]
//	                                                             \-> accepted [_2] --(expose delay)--> done [reply + _3]
//
// A reused name goes straight to done with _0 FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION.
// While the backend link is down nothing moves: the step is retried with back-off, and no
// outage, however long, ever produces a _0 (docs/GATEWAY.md §7). Each step adds its receipt rows and
// moves the state together, a batch of due steps in one transaction; /out is a view of those
// rows, so a crash at any point neither loses nor doubles a receipt.
//
// All of it runs in runDue, driven by the clock: a loop wakes at the next due time (real
// clock) or when work arrives; AdvanceClock walks a virtual clock through every due time.

const dueBatch = 256

// heartbeatService always answers (never rejected by rules).
const heartbeatService = "FTPSGW.Heartbeat"

// receiptPipeline moves accepted uploads through the backend and writes their receipts: its
// state and lock, the link to the backend with its failures, and the backend itself. It
// replicates the security system on its own clock (replica) before each round.
type receiptPipeline struct {
	*core
	state   pipelineState
	link    *backendLink // backend settings and the link's failures
	backend Backend      // embedded or `ftpsgw backend`
	replica *securityReplica
	dataDir string // where the spool is
}

// pipelineState is the receipt pipeline's own state: mu serialises the pipeline with
// replication and clock advances; wake and done drive and end its loop; queued counts
// unfinished deliveries (the receipt queue) without a database scan per STOR: counted at
// start and reset, +1 per committed upload, -1 per delivery done.
type pipelineState struct {
	mu     sync.Mutex
	wake   chan struct{}
	done   chan struct{}
	queued atomic.Int64
}

// kick wakes the pipeline loop.
func (p *receiptPipeline) kick() {
	select {
	case p.state.wake <- struct{}{}:
	default:
	}
}

// runDue performs everything due at the clock's current time, in order.
func (p *receiptPipeline) runDue(ctx context.Context) error {
	p.state.mu.Lock()
	defer p.state.mu.Unlock()
	return p.runDueLocked(ctx)
}

func (p *receiptPipeline) runDueLocked(ctx context.Context) error {
	now := p.clock.Now()
	if err := p.replica.replicateIfDue(ctx, now); err != nil {
		return err
	}
	// Drain everything due now. Each step either moves a delivery to a later state or
	// postpones it into the future, so this ends.
	for {
		due, err := p.store.DueDeliveries(ctx, now, dueBatch)
		if err != nil {
			return err
		}
		if len(due) == 0 {
			break
		}
		var b batch
		for _, d := range due {
			if err := p.step(ctx, &b, d, now); err != nil {
				// keep what the batch did before the failure (its files were handed over)
				return errors.Join(fmt.Errorf("delivery of %s/%s: %w", d.Username, d.Name, err), p.commit(ctx, &b))
			}
		}
		if err := p.commit(ctx, &b); err != nil {
			return err
		}
	}
	return p.expireOutbox(ctx, now)
}

// nextDue returns the earliest time anything is due.
func (p *receiptPipeline) nextDue(ctx context.Context) (time.Time, bool) {
	var next time.Time
	have := false
	consider := func(t time.Time) {
		if !have || t.Before(next) {
			next, have = t, true
		}
	}
	if t, ok, err := p.store.NextDue(ctx); err == nil && ok {
		consider(t)
	}
	if t, ok, err := p.store.OldestLiveOutbox(ctx); err == nil && ok {
		consider(t.Add(p.cfg.Retention.Std()))
	}
	consider(p.replica.nextReplication())
	// Scheduled outages end at known times: wake then so waiting deliveries move.
	now := p.clock.Now()
	for _, o := range p.backendSettings().Outages {
		if o.To.After(now) {
			consider(o.To)
		}
	}
	return next, have
}

// batch is the moves of one batch of due deliveries. They commit in one transaction (one
// fsync for up to dueBatch receipts, not one each: a burst of 20,000 uploads is answered at
// the disk's rate of commits times dueBatch), and only then are counted and journalled.
type batch struct{ moves []store.Move }

// advance moves a delivery on with its receipts; they are in /out (a view of the rows) the
// moment the batch commits.
func (b *batch) advance(subID int64, from, to store.DeliveryState, nextAt time.Time, attempts int, files []store.OutboxFile) error {
	b.moves = append(b.moves, store.Move{SubmissionID: subID, From: from, To: to, NextAt: nextAt, Attempts: attempts, Files: files})
	return nil
}

// postpone keeps a delivery in its state until nextAt.
func (b *batch) postpone(subID int64, nextAt time.Time, attempts int) error {
	b.moves = append(b.moves, store.Move{SubmissionID: subID, NextAt: nextAt, Attempts: attempts, Postpone: true})
	return nil
}

// commit applies a batch, then counts and journals what it did.
func (p *receiptPipeline) commit(ctx context.Context, b *batch) error {
	if err := p.store.Apply(ctx, b.moves); err != nil {
		return err
	}
	for _, m := range b.moves {
		if m.Postpone {
			continue
		}
		if m.To == store.StateDone {
			p.state.queued.Add(-1)
		}
		for _, f := range m.Files {
			p.metrics.receipts.WithLabelValues(receiptLabel(f)).Inc()
			p.journal.Append(control.Event{Username: f.Username, Type: control.EventReceipt, Path: "/out/" + f.Name, Code: publicCode(f.Code), OK: f.Code != receipt.CodeError,
				Reason: f.ErrorCode, Time: f.CreatedAt})
		}
	}
	b.moves = b.moves[:0]
	return nil
}

// step moves one delivery forward (into b).
func (p *receiptPipeline) step(ctx context.Context, b *batch, d store.Delivery, now time.Time) error {
	if d.Reused {
		rerr := receipt.ErrorTexts[receipt.ErrCodeNameReused]
		return b.advance(d.ID, d.State, store.StateDone, now, d.Attempts, []store.OutboxFile{
			p.receipt(d, receipt.CodeError, now, "", &rerr, ""),
		})
	}
	if !p.backendUp(now) {
		if !p.rules.Outage.NeverStatus0 && now.Sub(d.ReceivedAt) >= 6*time.Hour {
			rerr := receipt.ErrorTexts[receipt.ErrCodeBackendDown]
			return b.advance(d.ID, d.State, store.StateDone, now, d.Attempts, []store.OutboxFile{p.receipt(d, receipt.CodeError, now, "", &rerr, "")})
		}
		// Postponed, never failed: back off and try again.
		attempts := d.Attempts + 1
		return b.postpone(d.ID, now.Add(p.backoff(attempts)), attempts)
	}
	if retryAt, waiting := p.linkWaiting(now); waiting {
		return b.postpone(d.ID, retryAt, d.Attempts+1)
	}
	switch d.State {
	case store.StateQueued:
		delay, err := p.backend.HandOver(ctx, d)
		if err != nil {
			return p.linkFailedOr(b, d, now, err)
		}
		p.linkOK()
		return b.advance(d.ID, store.StateQueued, store.StateDelivered, now.Add(delay), 0,
			[]store.OutboxFile{p.receipt(d, receipt.CodeDelivered, now, "", nil, "")})
	case store.StateDelivered:
		v, err := p.backend.Answer(ctx, d)
		if errors.Is(err, errRedelivered) {
			p.linkOK()
			return b.postpone(d.ID, now.Add(p.backendSettings().RetryMin.Std()), d.Attempts)
		}
		if err != nil {
			return p.linkFailedOr(b, d, now, err)
		}
		p.linkOK()
		if rerr := v.rerr; rerr != nil {
			if !p.rules.Receipts.ErrorCodeOnReject {
				rerr = nil
			}
			return b.advance(d.ID, store.StateDelivered, store.StateDone, now, 0, []store.OutboxFile{p.receipt(d, receipt.CodeError, now, "", rerr, "")})
		}
		// A val_ file is answered as a filing is (1, 2, 3 or 0): "på samme måde som ved
		// indberetning"; it is only never filed.
		accepted := p.receipt(d, receipt.CodeAccepted, now, "", nil, "")
		if v.reply {
			return b.advance(d.ID, store.StateDelivered, store.StateAccepted, now.Add(v.exposeDelay), 0, []store.OutboxFile{accepted})
		}
		return b.advance(d.ID, store.StateDelivered, store.StateDone, now, 0, []store.OutboxFile{accepted})
	case store.StateAccepted:
		return b.advance(d.ID, store.StateAccepted, store.StateDone, now, 0, p.exposed(d, now))
	}
	return fmt.Errorf("unknown delivery state %q", d.State)
}

// linkFailedOr postpones d when err is a failure of the backend link, else returns err.
func (p *receiptPipeline) linkFailedOr(b *batch, d store.Delivery, now time.Time, err error) error {
	var le linkError
	if errors.As(err, &le) {
		return p.linkFailed(b, d, now, err)
	}
	return err
}

func (p *receiptPipeline) receipt(d store.Delivery, code int, at time.Time, text string, rerr *receipt.Error, reply string) store.OutboxFile {
	if rerr != nil {
		e := receipt.Localize(*rerr, p.cfg.ReceiptLanguage)
		rerr = &e
	}
	f := store.OutboxFile{SubmissionID: d.ID, Username: d.Username, Kind: store.KindReceipt, Code: code,
		Name: receipt.Name(d.Service, d.Name, code), Content: receipt.Render(d, code, at, text, rerr, reply, p.rules.Receipts.TransactionIDElement), CreatedAt: at}
	if rerr != nil {
		f.ErrorCode = rerr.Code
	}
	return f
}

// backoff is the wait before retry n while the backend is down: RetryMin doubling up to RetryMax.
func (p *receiptPipeline) backoff(n int) time.Duration {
	b := p.backendSettings()
	d := b.RetryMin.Std()
	for i := 1; i < n && d < b.RetryMax.Std(); i++ {
		d *= 2
	}
	return min(d, b.RetryMax.Std())
}

// evaluate applies a service's backend rule to a spooled submission; nil means accepted.
func (p *receiptPipeline) evaluate(d store.Delivery, rule ServiceRule) *receipt.Error {
	if !p.rules.Receipts.CheckFixedRecords {
		rule = rule.effective()
		rule.FixedRecord, rule.Preset = false, ""
	}
	return evaluateRule(rule, d.Service, d.ASCII, func() (io.ReadCloser, error) { return p.openSubmission(d.Submission) })
}

// openSubmission reads a submission's bytes, from its spool file or the database.
func (p *receiptPipeline) openSubmission(sub store.Submission) (io.ReadCloser, error) {
	if sub.SpoolPath != "" {
		return os.Open(filepath.Join(p.dataDir, sub.SpoolPath))
	}
	b, err := p.store.Content(context.Background(), p.dataDir, sub)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func receiptLabel(f store.OutboxFile) string {
	if f.Kind == store.KindReply {
		return "reply"
	}
	return fmt.Sprint(publicCode(f.Code))
}

// Outbox rows are unique per submission, kind and code (so a step run twice never doubles a
// receipt); an upload's second _3 and its advice list get codes of their own, which users see
// as 3 and as a reply file.
const (
	codeExposedSecond = 4  // the second _3 (shown as 3)
	codeReplySecond   = -2 // the advice list
)

// publicCode is the receipt code users see.
func publicCode(code int) int {
	if code == codeExposedSecond {
		return receipt.CodeExposed
	}
	return code
}

// expireOutbox removes receipts and reply files older than the retention period.
func (p *receiptPipeline) expireOutbox(ctx context.Context, now time.Time) error {
	if !p.rules.Receipts.Expire {
		return nil
	}
	_, err := p.store.ExpireOutbox(ctx, now.Add(-p.cfg.Retention.Std()), now)
	return err
}

// loop runs the pipeline: at the next due time on a real clock, and whenever work arrives.
func (p *receiptPipeline) loop(ctx context.Context) {
	defer close(p.state.done)
	for {
		if err := p.runDue(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("receipt pipeline", "err", err)
		}
		wait := time.Hour
		if _, virtual := p.clock.(*clock.Virtual); !virtual {
			if next, ok := p.nextDue(ctx); ok {
				wait = max(time.Until(next), 5*time.Millisecond)
			}
			wait = min(wait, time.Minute)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-p.state.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// metaVirtualNow persists a virtual clock, so a restart never turns time back.
const metaVirtualNow = "virtual_now"

// exposed is what a file's status 3 brings: a reply file and one _3; or, for a rule with
// lists, SKAT's "en eller to filer med Status 3 sammen med en fejlliste og en eventuel
// advisliste": an error list (text, in the area's record structure) with its _3, and with
// advice a second _3 for the advice list (docs/GATEWAY.md §6). Their names are ASSUMED.
func (p *receiptPipeline) exposed(d store.Delivery, now time.Time) []store.OutboxFile {
	file := func(name string, content []byte) store.OutboxFile {
		return store.OutboxFile{SubmissionID: d.ID, Username: d.Username, Kind: store.KindReply, Code: receipt.CodeReply, Name: name, Content: content, CreatedAt: now}
	}
	rule := p.link.settings().Rule(d.Service).effective()
	if rule.Lists == "" {
		reply := receipt.ReplyName(d.Service, d.Name)
		return []store.OutboxFile{file(reply, receipt.RenderReply(d)), p.receipt(d, receipt.CodeExposed, now, "", nil, reply)}
	}
	errs := receipt.ErrorListName(d.Service, d.Name)
	out := []store.OutboxFile{file(errs, receipt.RenderList(d, "FEJLLISTE", rule.RecordLength, now)), p.receipt(d, receipt.CodeExposed, now, "", nil, errs)}
	if rule.Lists == ListsWithAdvice {
		advice := receipt.AdviceListName(d.Service, d.Name)
		second := p.receipt(d, receipt.CodeExposed, now, "", nil, advice)
		second.Name, second.Code = receipt.SecondExposedName(p.cfg.SecondStatus3Name, d.Service, d.Name), codeExposedSecond
		list := file(advice, receipt.RenderList(d, "ADVISLISTE", rule.RecordLength, now))
		list.Code = codeReplySecond
		out = append(out, list, second)
	}
	return out
}

// setBackend applies and persists backend settings; when the link comes back, waiting
// deliveries are due at once (receipts then flow in their original order).
func (p *receiptPipeline) setBackend(ctx context.Context, next BackendSettings) error {
	p.state.mu.Lock()
	defer p.state.mu.Unlock()
	wasUp := p.backendUp(p.clock.Now())
	if err := p.store.SetMetaJSON(ctx, metaBackend, backendState{Up: next.Up, Default: next.Default, Services: next.Services}); err != nil {
		return err
	}
	p.link.set(next)
	if !wasUp && p.backendUp(p.clock.Now()) {
		p.link.reset(nil) // try the remote backend at once too
		if err := p.store.Kick(ctx, p.clock.Now()); err != nil {
			return err
		}
		if !p.rules.Outage.InUploadOrder {
			if err := p.store.ReverseWaiting(ctx, p.clock.Now()); err != nil {
				return err
			}
		}
	}
	p.kick()
	return nil
}
