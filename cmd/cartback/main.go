// Command cartback runs the cartback service: it takes Shopify and
// WooCommerce webhooks, keeps carts in a local bbolt file and serves the
// admin API.
//
//	cartback [flags]          run the service
//	cartback backup FILE      write a consistent copy of the database
//	cartback check            verify the database's indexes (service stopped)
//	cartback version          print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	cbhttp "github.com/cartback/cartback/adapters/http"
	"github.com/cartback/cartback/adapters/shopify"
	"github.com/cartback/cartback/adapters/woocommerce"
	"github.com/cartback/cartback/internal/phone"
	"github.com/cartback/cartback/recovery"
	"github.com/cartback/cartback/store"
	"github.com/cartback/cartback/templates"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// gcPercent is the garbage collector's target unless GOGC says otherwise.
// cartback's live heap is small (tens of megabytes) while webhook and click
// bursts allocate fast: at Go's default of 100 it would collect every few
// megabytes, and collections inside the single store writer delay every
// commit. At 400 the heap may grow to five times the live data instead.
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // the usage is printed; asking for it is no failure
		}
		fmt.Fprintln(os.Stderr, "cartback:", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, getenv, stdout, stderr)
	case "backup":
		return backup(args, getenv, stdout, stderr)
	case "check":
		return check(args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "cartback", version)
		return nil
	}
	return fmt.Errorf("unknown command %q (serve, backup, check, version)", cmd)
}

func serve(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := LoadConfig(getenv, args, stderr)
	if err != nil {
		return err
	}
	m := NewMain(cfg, stdout)
	m.Stderr = stderr
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	<-ctx.Done()
	// A second signal stops the process at once, for an operator who will
	// not wait for the drain.
	stop()
	m.Logger.Info("shutting down")
	return m.Close()
}

// Main is the running service: the database, the HTTP server and the
// background jobs, opened by Run and closed by Close.
type Main struct {
	Config    Config
	Logger    *slog.Logger
	DB        *store.DB
	Service   *recovery.Service
	Scheduler *recovery.Scheduler
	HTTP      *cbhttp.Server
	// Stderr, when set, also receives a generated admin token, whatever
	// the log level: it is shown only once.
	Stderr io.Writer

	cancel context.CancelFunc
	jobs   sync.WaitGroup
}

// NewMain returns a Main that logs JSON to logOut.
func NewMain(cfg Config, logOut io.Writer) *Main {
	level, _ := parseLevel(cfg.LogLevel)
	return &Main{
		Config: cfg,
		Logger: slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level})),
	}
}

// Run opens the database and starts serving. It returns once the service is
// listening; Close stops it.
func (m *Main) Run(ctx context.Context) error {
	// Providers first: a bad SMTP or Twilio setting is reported before
	// anything is opened or generated.
	senders, err := m.senders()
	if err != nil {
		return err
	}
	mapped, _ := m.Config.dbMappedLimit() // validated by LoadConfig
	db, err := store.Open(m.Config.DBPath, store.Options{MappedLimit: mapped})
	if err != nil {
		return err
	}
	m.DB = db
	m.Service = recovery.NewService(db)

	// A generated token is stored (and shown) only once the service
	// listens: a start that fails before then must not keep a token that
	// nobody saw.
	adminToken, generated, err := m.adminToken(ctx)
	if err != nil {
		return err
	}

	signer, err := m.signer(ctx)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	steps := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cartback_steps_total",
		Help: "Reminder steps handled, by channel and final state (sent, outbox, skipped, failed, unknown).",
	}, []string{"channel", "state"})
	// Every series exists from the start at 0, so that increase() sees the
	// first step of each kind instead of a series appearing at 1.
	for _, ch := range []recovery.Channel{recovery.ChannelEmail, recovery.ChannelSMS} {
		for _, st := range []recovery.StepState{recovery.StepSent, recovery.StepOutbox, recovery.StepSkipped, recovery.StepFailed, recovery.StepUnknown} {
			steps.WithLabelValues(string(ch), string(st))
		}
	}
	reg.MustRegister(steps)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cartback_reminders_overdue_seconds",
		Help: "How long the earliest due reminder has been waiting past its time (0 when none is): the scheduler is behind, stopped or waiting on a provider.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		d, err := m.Service.Overdue(ctx)
		if err != nil {
			return math.NaN()
		}
		return d.Seconds()
	}))

	m.Service.PhoneZones = phone.TimeZones
	m.Service.Clicks = recovery.NewClickRecorder(db, 8192, m.Logger)
	m.Service.ShopMetaPrefixes = func(shopID uint64) []string { return []string{cbhttp.TemplatePrefix(shopID)} }
	compact := make(chan struct{}, 1)
	m.Service.OnErase = func() {
		select {
		case compact <- struct{}{}:
		default:
		}
	}
	shopifyApp, err := m.shopifyApp(ctx)
	if err != nil {
		return err
	}
	renderer, err := templates.New(templates.Options{
		Store:   cbhttp.TemplateStore{Store: db},
		LinkTTL: recovery.DefaultLinkTTL,
		OnFallback: func(shopID uint64, kind, channel, locale, reason string) {
			m.Logger.Warn("template fell back to the default", "shop_id", shopID, "kind", kind, "channel", channel, "locale", locale, "reason", reason)
		},
	})
	if err != nil {
		return err
	}
	m.Scheduler = &recovery.Scheduler{
		Renderer:  renderer,
		Service:   m.Service,
		Signer:    signer,
		PublicURL: m.Config.PublicURL,
		Logger:    m.Logger,
		// A channel without a provider sends to the outbox, where the admin
		// API shows its messages, marked as not sent.
		Senders: senders,
		// Single-use codes for shops that ask for them (Shopify's arrive
		// with the app's install flow).
		Discounts: map[recovery.Platform]recovery.DiscountIssuer{recovery.PlatformWooCommerce: &woocommerce.Coupons{}},
		Purchases: map[recovery.Platform]recovery.PurchaseChecker{},
		OnStep: func(ch recovery.Channel, st recovery.StepState) {
			steps.WithLabelValues(string(ch), string(st)).Inc()
		},
	}
	if shopifyApp != nil {
		m.Scheduler.Discounts[recovery.PlatformShopify] = shopifyApp
		m.Scheduler.Purchases[recovery.PlatformShopify] = shopifyApp
		m.Service.Uninstallers = map[recovery.Platform]recovery.AppUninstaller{recovery.PlatformShopify: shopifyApp}
	}
	if err := m.Scheduler.Open(); err != nil {
		return err
	}

	m.HTTP = cbhttp.NewServer(reg)
	m.HTTP.Addr = m.Config.Addr
	m.HTTP.Service = m.Service
	m.HTTP.AdminToken = adminToken
	m.HTTP.Logger = m.Logger
	m.HTTP.Backup = db.WriteBackup
	m.HTTP.Signer = signer
	// The admin pages preview and validate templates as they are sent.
	m.HTTP.Templates = renderer
	// "Send a test" renders a shop's saved template, as the editor previews
	// it, and hands it to the channel's provider.
	m.HTTP.SendTest = m.sendTest(cbhttp.TemplateStore{Store: db}, renderer)
	m.HTTP.PublicURL = m.Config.PublicURL
	if shopifyApp != nil {
		m.HTTP.ShopifyApp = shopifyApp.Handler()
		shopifyApp.SignIn = m.HTTP.ShopSignIn
	}
	if m.Config.TwilioAccountSID != "" {
		m.HTTP.SMS = smsWebhooks(m.Config.TwilioAuthToken)
	}
	m.HTTP.DecodeShopify = func(topic string, body []byte, _, region string) (recovery.Event, error) {
		return shopify.DecodeWebhook(topic, body, region)
	}
	m.HTTP.DecodeWooCommerce = woocommerce.DecodeWebhook
	for _, s := range []string{m.Config.ShopifyAPISecret, m.Config.ShopifyAPISecretPrevious} {
		if s != "" {
			m.HTTP.ShopifyAppSecrets = append(m.HTTP.ShopifyAppSecrets, s)
		}
	}
	m.HTTP.TrustedProxies, _ = m.Config.trustedProxies() // validated by LoadConfig
	if err := m.HTTP.Open(); err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			err = op.Err
		}
		return fmt.Errorf("CARTBACK_ADDR: cannot listen on %s: %w", m.Config.Addr, err)
	}
	if generated {
		if err := m.keepAdminToken(ctx, adminToken); err != nil {
			return err
		}
	}

	jobCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	if shopifyApp != nil {
		m.jobs.Add(1)
		go func() {
			defer m.jobs.Done()
			m.runShopify(jobCtx, shopifyApp)
		}()
	}
	m.jobs.Add(4)
	go func() {
		defer m.jobs.Done()
		// A shop erasure cut short (a crash, a shutdown) is finished.
		if err := m.Service.ResumeErasures(jobCtx); err != nil && jobCtx.Err() == nil {
			m.Logger.Error("resume shop erasures", "error", err)
		}
	}()
	go func() {
		defer m.jobs.Done()
		m.compactAfterErase(jobCtx, compact)
	}()
	go func() {
		defer m.jobs.Done()
		m.expireEvents(jobCtx)
	}()
	go func() {
		defer m.jobs.Done()
		m.retention(jobCtx)
	}()

	m.Logger.Info("cartback started", "version", version, "addr", m.Config.Addr, "port", m.HTTP.Port(),
		"db", m.Config.DBPath, "public_url", m.Config.PublicURL)
	return nil
}

// Close stops accepting requests, lets in-flight ones finish, stops the
// background jobs and closes the database, in that order.
func (m *Main) Close() error {
	var errs []error
	if m.HTTP != nil {
		errs = append(errs, m.HTTP.Close())
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.jobs.Wait()
	if m.Scheduler != nil {
		errs = append(errs, m.Scheduler.Close())
	}
	if m.Service != nil && m.Service.Clicks != nil {
		m.Service.Clicks.Close() // the last clicks, before the database closes
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	return errors.Join(errs...)
}

const adminTokenMeta = "admin_token"

// adminToken returns the configured admin token, or the stored one, or a
// new one (generated says so) for keepAdminToken to store.
func (m *Main) adminToken(ctx context.Context) (token string, generated bool, err error) {
	if m.Config.AdminToken != "" {
		return m.Config.AdminToken, false, nil
	}
	stored, err := m.meta(ctx, adminTokenMeta)
	if err != nil || stored != nil {
		return string(stored), false, err
	}
	return recovery.NewSecret(24), true, nil
}

// keepAdminToken stores a generated admin token and shows it: the only
// time it is shown, so besides the log (which the level may filter) it
// goes to Stderr.
func (m *Main) keepAdminToken(ctx context.Context, token string) error {
	// This process holds the database alone, so no other token can have
	// been stored since adminToken looked.
	err := m.DB.Update(ctx, func(tx recovery.Tx) error { return tx.PutMeta(adminTokenMeta, []byte(token)) })
	if err != nil {
		return fmt.Errorf("store the generated admin token: %w", err)
	}
	m.Logger.Warn("generated an admin token; it is shown only this once, set CARTBACK_ADMIN_TOKEN to choose your own", "admin_token", token)
	if m.Stderr != nil {
		fmt.Fprintf(m.Stderr, "cartback: generated admin token: %s\ncartback: it is shown only this once; keep it, or set CARTBACK_ADMIN_TOKEN to choose your own\n", token)
	}
	return nil
}

// meta reads a service-wide value from the database (nil when none).
func (m *Main) meta(ctx context.Context, name string) (v []byte, err error) {
	err = m.DB.View(ctx, func(tx recovery.Tx) (err error) {
		v, err = tx.Meta(name)
		return err
	})
	return v, err
}

// storedSecret returns the secret kept in the database under name,
// generating and storing one when there is none (generated says so). One
// that exists is read without waiting for a write commit.
func (m *Main) storedSecret(ctx context.Context, name string, generate func() []byte) (secret []byte, generated bool, err error) {
	if secret, err = m.meta(ctx, name); err != nil || secret != nil {
		return secret, false, err
	}
	err = m.DB.Update(ctx, func(tx recovery.Tx) error {
		v, err := tx.Meta(name)
		if err != nil || v != nil {
			secret, generated = v, false
			return err
		}
		secret, generated = generate(), true
		return tx.PutMeta(name, secret)
	})
	return secret, generated, err
}

const signingKeyMeta = "signing_key"

// signer builds the link signer from the configured keys, or from a key
// generated on the first start and stored, so links survive restarts. A
// stored key keeps verifying once keys are configured, so links sent before
// then keep working.
func (m *Main) signer(ctx context.Context) (*recovery.Signer, error) {
	if m.Config.SigningKey == "" {
		key, _, err := m.storedSecret(ctx, signingKeyMeta, func() []byte { return []byte(recovery.NewSecret(32)) })
		if err != nil {
			return nil, err
		}
		return recovery.NewSigner(key)
	}
	keys := [][]byte{[]byte(m.Config.SigningKey)}
	for _, k := range m.Config.previousSigningKeys() {
		keys = append(keys, []byte(k))
	}
	stored, err := m.meta(ctx, signingKeyMeta)
	if err != nil {
		return nil, err
	}
	if stored != nil {
		keys = append(keys, stored)
	}
	return recovery.NewSigner(keys...)
}

// eraseCompactDelay is how long compactAfterErase waits for more
// erasures to share a compaction with.
var eraseCompactDelay = 10 * time.Second

// compactAfterErase rewrites the database file a little after personal
// data was erased, so the erased bytes leave the disk; erasures that come
// together share one compaction, and one still waiting when the service
// stops is done before it closes the database.
func (m *Main) compactAfterErase(ctx context.Context, requests <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			select {
			case <-requests:
				m.compact()
			default:
			}
			return
		case <-requests:
		}
		select {
		case <-ctx.Done():
			m.compact()
			return
		case <-time.After(eraseCompactDelay):
		}
		m.compact()
	}
}

// compact rewrites the database file. It is not cancelled with the
// service: a compaction cut short would leave the erased bytes on disk.
func (m *Main) compact() {
	start := time.Now()
	if err := m.DB.Compact(context.Background()); err != nil {
		m.Logger.Error("compact after erasure", "error", err)
		return
	}
	m.Logger.Info("database compacted after erasure", "took", time.Since(start))
}

// retention erases records past each shop's retention period once a day
// (and once at start), keeping anonymous daily figures.
func (m *Main) retention(ctx context.Context) {
	ticker := time.NewTicker(24 * time.Hour)
	defer ticker.Stop()
	for {
		n, err := m.Service.Expire(ctx)
		if err != nil && ctx.Err() == nil {
			m.Logger.Error("retention", "error", err)
		} else if n > 0 {
			m.Logger.Info("retention erased old carts", "carts", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// expireEvents forgets expired webhook de-duplication records every few
// minutes, in small transactions so webhooks never wait long behind it.
func (m *Main) expireEvents(ctx context.Context) {
	ticker := time.NewTicker(5 * time.Minute)
	defer ticker.Stop()
	for {
		for {
			var n int
			err := m.DB.Update(ctx, func(tx recovery.Tx) (err error) {
				n, err = tx.ExpireEvents(time.Now(), 1000)
				return err
			})
			if err != nil {
				if ctx.Err() == nil {
					m.Logger.Error("expire webhook records", "error", err)
				}
				break
			}
			if n < 1000 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
