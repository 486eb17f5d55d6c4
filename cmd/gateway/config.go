package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/sluice-db/sluice/connectors/s3"
	"github.com/sluice-db/sluice/wire"
)

// envPrefix is the prefix of every environment variable the gateway reads:
// SLUICE_LISTEN, SLUICE_DATA_DIR, ..., and SLUICE_CONFIG for the file.
const envPrefix = "SLUICE"

// Config is the gateway's configuration. Each field has one key, used as is
// in the YAML file, with dashes as a command-line flag (--data-dir) and upper
// cased behind SLUICE_ in the environment (SLUICE_DATA_DIR). Precedence:
// flag > environment > file > default.
type Config struct {
	Listen string `mapstructure:"listen"`
	// AdminListen is the admin HTTP listener's address (health, metrics,
	// status page); empty disables it.
	AdminListen          string        `mapstructure:"admin_listen"`
	DataDir              string        `mapstructure:"data_dir"`
	LogFormat            string        `mapstructure:"log_format"`
	LogLevel             string        `mapstructure:"log_level"`
	MemoryLimit          string        `mapstructure:"memory_limit"`
	Threads              int           `mapstructure:"threads"`
	TempDir              string        `mapstructure:"temp_dir"`
	MaxTempDirSize       string        `mapstructure:"max_temp_dir_size"`
	BlockAllocatorMemory string        `mapstructure:"block_allocator_memory"`
	ShutdownTimeout      time.Duration `mapstructure:"shutdown_timeout"`
	PollInterval         time.Duration `mapstructure:"poll_interval"`
	TLSCertFile          string        `mapstructure:"tls_cert_file"`
	TLSKeyFile           string        `mapstructure:"tls_key_file"`
	RequireTLS           bool          `mapstructure:"require_tls"`
	Auth                 string        `mapstructure:"auth"`
	Users                []User        `mapstructure:"users"`
	MaxConnections       int           `mapstructure:"max_connections"`
	// MaxMessageSize bounds a client message's length, in bytes.
	MaxMessageSize int `mapstructure:"max_message_size"`
	// IdleSessionTimeout and IdleInTransactionSessionTimeout are the
	// defaults of PostgreSQL's settings of those names (0: none).
	IdleSessionTimeout              time.Duration `mapstructure:"idle_session_timeout"`
	IdleInTransactionSessionTimeout time.Duration `mapstructure:"idle_in_transaction_session_timeout"`
	// SourceParallelism bounds the parts of one connector read in flight.
	SourceParallelism int `mapstructure:"source_parallelism"`
	// ObjectStorage configures s3:// sources and output locations; an
	// empty endpoint means none.
	ObjectStorage s3.Config `mapstructure:"object_storage"`
	// FileRoots are the directories user SQL may read and write files in;
	// empty means the working directory.
	FileRoots []string `mapstructure:"file_roots"`
	// Secrets says where the secrets key comes from (secrets.go).
	Secrets SecretsConfig `mapstructure:"secrets"`
	// EncryptionKeys are the keys materialized views and pipelines WITH
	// (encryption_key = 'name') encrypt their Parquet files with (YAML
	// only; the material comes from a file or an environment variable).
	EncryptionKeys []EncryptionKey `mapstructure:"encryption_keys"`
}

// EncryptionKey is one entry of encryption_keys: a name, and where its
// material is, exactly one of a file and an environment variable, holding
// the base64 of 32 random bytes (`gateway keygen`). The material itself is
// never in the YAML file, a flag or a log line.
type EncryptionKey struct {
	Name    string `mapstructure:"name"`
	KeyFile string `mapstructure:"key_file"`
	KeyEnv  string `mapstructure:"key_env"`
}

// User is one entry of the users list (YAML only). Password is the stored
// secret: a SCRAM-SHA-256 verifier made by `gateway password`, or with
// auth md5 an md5 hash; never a plain password.
type User struct {
	Name     string `mapstructure:"name"`
	Password string `mapstructure:"password"`
	// Superuser is the user's superuser attribute; absent means true (the
	// configuration file's users administer the gateway).
	Superuser *bool `mapstructure:"superuser"`
}

// IsSuperuser reports the user's superuser attribute.
func (u User) IsSuperuser() bool { return u.Superuser == nil || *u.Superuser }

// DefaultConfig is the embedded default: what `make run` starts with.
var DefaultConfig = Config{
	Listen:      "127.0.0.1:5433",
	AdminListen: "127.0.0.1:9187",
	DataDir:     "./sluice-data",
	LogFormat:   "text",
	LogLevel:    "info",
	MemoryLimit: "",
	Threads:     0,
	TempDir:     "",
	// Kept by DuckDB between statements (engine.Config.BlockAllocatorMemory):
	// a refresh after idle time does not fault its buffers in afresh.
	BlockAllocatorMemory: "1GB",
	ShutdownTimeout:      30 * time.Second,
	PollInterval:         time.Second,
	Auth:                 wire.AuthTrust,
	MaxConnections:       100,
	MaxMessageSize:       wire.DefaultMaxMessageSize,
	SourceParallelism:    8,
}

// configKey describes one configuration key.
type configKey struct {
	name     string // key in the file; flag is name with '_' and '.' -> '-'
	usage    string
	fileOnly bool // no flag nor environment variable (structured values)
}

var configKeys = []configKey{
	{"listen", "address to listen on (host:port)", false},
	{"admin_listen", "address of the admin HTTP listener: /healthz, /readyz, /metrics, the status page (empty: none)", false},
	{"data_dir", "directory for the catalog and materialized data", false},
	{"log_format", "log format: text or json", false},
	{"log_level", "log level: debug, info, warn or error", false},
	{"memory_limit", "DuckDB memory_limit, e.g. 4GB or 50% (empty: DuckDB's default)", false},
	{"threads", "DuckDB threads (0: DuckDB's default)", false},
	{"max_temp_dir_size", "most bytes queries may spill to temp_dir, e.g. 20GB (empty: DuckDB's default, 90% of the free disk space); more is 53400", false},
	{"temp_dir", "DuckDB spill directory (empty: DATA_DIR/tmp)", false},
	{"block_allocator_memory", "DuckDB block_allocator_memory: freed buffer memory the process keeps between statements instead of returning it to the system, e.g. 1GB (0B: none)", false},
	{"shutdown_timeout", "how long running statements may finish after SIGINT/SIGTERM", false},
	{"poll_interval", "how often REFRESH ON CHANGE objects' file sources are listed for new files", false},
	{"tls_cert_file", "PEM certificate for TLS (with tls_key_file; empty: no TLS)", false},
	{"tls_key_file", "PEM private key of tls_cert_file", false},
	{"require_tls", "refuse clients that do not use TLS (needs tls_cert_file)", false},
	{"auth", "authentication: trust (loopback clients only), scram-sha-256 or md5", false},
	{"users", "users and their SCRAM verifiers (YAML file only)", true},
	{"max_connections", "most concurrent client connections", false},
	{"max_message_size", "longest client message in bytes, its length field included (longer: FATAL 08P01; default PostgreSQL's 1 GB)", false},
	{"idle_session_timeout", "default of the session setting idle_session_timeout: end a session idle outside a transaction this long (FATAL 57P05; 0: never)", false},
	{"idle_in_transaction_session_timeout", "default of the session setting idle_in_transaction_session_timeout: end a session idle inside a transaction this long (FATAL 25P03; 0: never)", false},
	{"source_parallelism", "most parts of one connector read (Kafka partitions, PostgreSQL ranges) read at once", false},
	{"file_roots", "directories user SQL may read and write files in, comma-separated (empty: the working directory)", false},
	{"object_storage.endpoint", "S3-compatible endpoint, host:port or http(s)://host:port (empty: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the AWS profile's endpoint_url, else AWS when AWS credentials or a region are configured, else no object storage)", false},
	{"object_storage.region", "S3 signing region (empty: AWS_REGION, AWS_DEFAULT_REGION, the AWS profile's region, else asked per bucket)", false},
	{"object_storage.access_key", "S3 access key (empty: AWS's credential chain: AWS_* variables, the shared credentials file, web identity, container credentials)", false},
	{"object_storage.instance_metadata", "let the credential chain ask EC2's instance metadata service last", false},
	{"object_storage.secret_key", "S3 secret key (file or environment only: flags show in ps)", false},
	{"object_storage.use_ssl", "use https with a host:port endpoint", false},
	{"object_storage.ca_file", "PEM file of CA certificates that replace the system roots in verifying an https endpoint (a private CA)", false},
	{"object_storage.cache_dir", "local cache of downloaded objects (empty: DATA_DIR/cache)", false},
	{"object_storage.cache_size", "bytes the cache may hold (0: 10 GiB)", false},
	{"object_storage.parallel", "range downloads and upload parts in flight (0: 8)", false},
	{"object_storage.part_size", "bytes per download range and upload part (0: 16 MiB)", false},
	{"object_storage.timeout", "bound of each request and of any transfer stall (0: 10s)", false},
	{"object_storage.retries", "retries of a failed request (0: 3)", false},
	{"secrets.key_file", "file holding the secrets key, the base64 of 32 random bytes, that encrypts CREATE SECRET values and stored credentials (empty: no key)", false},
	{"secrets.key_env", "environment variable holding the secrets key (base64 of 32 bytes); removed from the gateway's environment once read", false},
	{"encryption_keys", "named AES-256 keys for WITH (encryption_key = ...): name and key_file or key_env (YAML file only)", true},
}

func flagName(key string) string { return strings.NewReplacer("_", "-", ".", "-").Replace(key) }

func envName(key string) string {
	return envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// ConfigError is a configuration error; it names the offending key.
type ConfigError struct {
	Key string
	Err error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("config key %q: %v", e.Key, e.Err) }
func (e *ConfigError) Unwrap() error { return e.Err }

// newServeFlags returns the flag set of the serve command.
func newServeFlags(output io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(output)
	d := DefaultConfig
	fs.String("config", "", "YAML config file (env "+envName("config")+")")
	fs.String(flagName("listen"), d.Listen, usage("listen"))
	fs.String(flagName("admin_listen"), d.AdminListen, usage("admin_listen"))
	fs.String(flagName("data_dir"), d.DataDir, usage("data_dir"))
	fs.String(flagName("log_format"), d.LogFormat, usage("log_format"))
	fs.String(flagName("log_level"), d.LogLevel, usage("log_level"))
	fs.String(flagName("memory_limit"), d.MemoryLimit, usage("memory_limit"))
	fs.Int(flagName("threads"), d.Threads, usage("threads"))
	fs.String(flagName("temp_dir"), d.TempDir, usage("temp_dir"))
	fs.String(flagName("max_temp_dir_size"), d.MaxTempDirSize, usage("max_temp_dir_size"))
	fs.String(flagName("block_allocator_memory"), d.BlockAllocatorMemory, usage("block_allocator_memory"))
	fs.Duration(flagName("shutdown_timeout"), d.ShutdownTimeout, usage("shutdown_timeout"))
	fs.Duration(flagName("poll_interval"), d.PollInterval, usage("poll_interval"))
	fs.String(flagName("tls_cert_file"), d.TLSCertFile, usage("tls_cert_file"))
	fs.String(flagName("tls_key_file"), d.TLSKeyFile, usage("tls_key_file"))
	fs.Bool(flagName("require_tls"), d.RequireTLS, usage("require_tls"))
	fs.String(flagName("auth"), d.Auth, usage("auth"))
	fs.Int(flagName("max_connections"), d.MaxConnections, usage("max_connections"))
	fs.Int(flagName("max_message_size"), d.MaxMessageSize, usage("max_message_size"))
	fs.Duration(flagName("idle_session_timeout"), d.IdleSessionTimeout, usage("idle_session_timeout"))
	fs.Duration(flagName("idle_in_transaction_session_timeout"), d.IdleInTransactionSessionTimeout, usage("idle_in_transaction_session_timeout"))
	fs.Int(flagName("source_parallelism"), d.SourceParallelism, usage("source_parallelism"))
	fs.StringSlice(flagName("file_roots"), nil, usage("file_roots"))
	o := d.ObjectStorage
	fs.String(flagName("object_storage.endpoint"), o.Endpoint, usage("object_storage.endpoint"))
	fs.String(flagName("object_storage.region"), o.Region, usage("object_storage.region"))
	fs.String(flagName("object_storage.access_key"), o.AccessKey, usage("object_storage.access_key"))
	fs.Bool(flagName("object_storage.use_ssl"), o.UseSSL, usage("object_storage.use_ssl"))
	fs.Bool(flagName("object_storage.instance_metadata"), o.InstanceMetadata, usage("object_storage.instance_metadata"))
	fs.String(flagName("object_storage.ca_file"), o.CAFile, usage("object_storage.ca_file"))
	fs.String(flagName("object_storage.cache_dir"), o.CacheDir, usage("object_storage.cache_dir"))
	fs.Int64(flagName("object_storage.cache_size"), o.CacheSize, usage("object_storage.cache_size"))
	fs.Int(flagName("object_storage.parallel"), o.Parallel, usage("object_storage.parallel"))
	fs.Int64(flagName("object_storage.part_size"), o.PartSize, usage("object_storage.part_size"))
	fs.Duration(flagName("object_storage.timeout"), o.Timeout, usage("object_storage.timeout"))
	fs.Int(flagName("object_storage.retries"), o.Retries, usage("object_storage.retries"))
	fs.String(flagName("secrets.key_file"), d.Secrets.KeyFile, usage("secrets.key_file"))
	fs.String(flagName("secrets.key_env"), d.Secrets.KeyEnv, usage("secrets.key_env"))
	return fs
}

func usage(key string) string {
	for _, k := range configKeys {
		if k.name == key {
			if k.fileOnly {
				return k.usage
			}
			return k.usage + " (env " + envName(key) + ")"
		}
	}
	return ""
}

// LoadConfig builds the configuration from the defaults, the YAML file named
// by --config (or SLUICE_CONFIG), the environment and the parsed flags, in
// rising precedence. Unknown keys in the file and values of the wrong type
// are errors naming the key; the result is validated.
func LoadConfig(fs *pflag.FlagSet) (Config, error) {
	v := viper.New()
	d := DefaultConfig
	v.SetDefault("listen", d.Listen)
	v.SetDefault("admin_listen", d.AdminListen)
	v.SetDefault("data_dir", d.DataDir)
	v.SetDefault("log_format", d.LogFormat)
	v.SetDefault("log_level", d.LogLevel)
	v.SetDefault("memory_limit", d.MemoryLimit)
	v.SetDefault("threads", d.Threads)
	v.SetDefault("temp_dir", d.TempDir)
	v.SetDefault("max_temp_dir_size", d.MaxTempDirSize)
	v.SetDefault("block_allocator_memory", d.BlockAllocatorMemory)
	v.SetDefault("shutdown_timeout", d.ShutdownTimeout.String())
	v.SetDefault("poll_interval", d.PollInterval.String())
	v.SetDefault("tls_cert_file", d.TLSCertFile)
	v.SetDefault("tls_key_file", d.TLSKeyFile)
	v.SetDefault("require_tls", d.RequireTLS)
	v.SetDefault("auth", d.Auth)
	v.SetDefault("max_connections", d.MaxConnections)
	v.SetDefault("max_message_size", d.MaxMessageSize)
	v.SetDefault("idle_session_timeout", d.IdleSessionTimeout.String())
	v.SetDefault("idle_in_transaction_session_timeout", d.IdleInTransactionSessionTimeout.String())
	v.SetDefault("source_parallelism", d.SourceParallelism)
	v.SetDefault("object_storage.endpoint", "")
	v.SetDefault("object_storage.secret_key", "")
	v.SetDefault("object_storage.timeout", "0s")
	v.SetDefault("secrets.key_file", "")
	v.SetDefault("secrets.key_env", "")

	for _, k := range configKeys {
		if k.fileOnly {
			continue
		}
		if err := v.BindEnv(k.name, envName(k.name)); err != nil {
			return Config{}, err
		}
		if f := fs.Lookup(flagName(k.name)); f != nil {
			if err := v.BindPFlag(k.name, f); err != nil {
				return Config{}, err
			}
		}
	}

	file, _ := fs.GetString("config")
	if !fs.Changed("config") {
		if env, ok := os.LookupEnv(envName("config")); ok {
			file = env
		}
	}
	if file != "" {
		if err := readConfigFile(v, file); err != nil {
			return Config{}, err
		}
	}

	var cfg Config
	err := v.Unmarshal(&cfg, func(dc *mapstructure.DecoderConfig) {
		dc.ErrorUnused = true
		dc.WeaklyTypedInput = true
	})
	if err != nil {
		return Config{}, decodeError(err)
	}
	if len(cfg.FileRoots) == 0 {
		cfg.FileRoots = nil // the default: the working directory
	}
	// Without an endpoint, AWS's own variables and shared files may name
	// one (connectors/s3/aws.go), as for the AWS CLI and SDKs.
	cfg.ObjectStorage, _ = cfg.ObjectStorage.FromEnvironment(os.Getenv)
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// readConfigFile reads the YAML file into v and refuses keys it does not know.
func readConfigFile(v *viper.Viper, file string) error {
	v.SetConfigFile(file)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		return fmt.Errorf("config file %s: %w", file, err)
	}
	known := map[string]bool{}
	for _, k := range configKeys {
		known[k.name] = true
	}
	// Only the file can bring unknown keys: the others are bound one by one.
	fileOnly := viper.New()
	fileOnly.SetConfigFile(file)
	fileOnly.SetConfigType("yaml")
	if err := fileOnly.ReadInConfig(); err != nil {
		return fmt.Errorf("config file %s: %w", file, err)
	}
	var unknown []string
	for _, k := range fileOnly.AllKeys() {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return &ConfigError{Key: unknown[0], Err: fmt.Errorf("unknown key in config file %s (unknown: %s)", file, strings.Join(unknown, ", "))}
	}
	return nil
}

// decodeError turns a mapstructure error into one that names the key.
func decodeError(err error) error {
	var de *mapstructure.DecodeError
	if errors.As(err, &de) {
		return &ConfigError{Key: de.Name(), Err: de.Unwrap()}
	}
	msg := err.Error()
	for _, k := range configKeys {
		if strings.Contains(msg, "'"+k.name+"'") || strings.Contains(msg, "\""+k.name+"\"") {
			return &ConfigError{Key: k.name, Err: err}
		}
	}
	return fmt.Errorf("config: %w", err)
}

// memoryLimitRE accepts DuckDB's memory_limit forms: a number with an
// optional unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB) or a percentage.
var memoryLimitRE = regexp.MustCompile(`(?i)^[0-9]+(\.[0-9]+)?\s*(b|bytes|kb|mb|gb|tb|kib|mib|gib|tib|%)?$`)

// Validate checks every key and returns the first problem, naming the key.
func (c Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return &ConfigError{Key: "listen", Err: fmt.Errorf("bad address %q: %w", c.Listen, err)}
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		if strings.ContainsAny(host, " /\\") {
			return &ConfigError{Key: "listen", Err: fmt.Errorf("bad host %q", host)}
		}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return &ConfigError{Key: "listen", Err: fmt.Errorf("bad port %q in %q", port, c.Listen)}
	}
	if c.AdminListen != "" {
		if _, port, err := net.SplitHostPort(c.AdminListen); err != nil {
			return &ConfigError{Key: "admin_listen", Err: fmt.Errorf("bad address %q: %w", c.AdminListen, err)}
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return &ConfigError{Key: "admin_listen", Err: fmt.Errorf("bad port %q in %q", port, c.AdminListen)}
		}
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return &ConfigError{Key: "data_dir", Err: errors.New("must not be empty")}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return &ConfigError{Key: "log_format", Err: fmt.Errorf("%q is not text or json", c.LogFormat)}
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return &ConfigError{Key: "log_level", Err: err}
	}
	if c.MaxTempDirSize != "" && (!memoryLimitRE.MatchString(strings.TrimSpace(c.MaxTempDirSize)) || strings.HasSuffix(strings.TrimSpace(c.MaxTempDirSize), "%")) {
		return &ConfigError{Key: "max_temp_dir_size", Err: fmt.Errorf("%q is not a size such as 20GB or 512MiB", c.MaxTempDirSize)}
	}
	if b := strings.TrimSpace(c.BlockAllocatorMemory); b != "" && (!memoryLimitRE.MatchString(b) || strings.HasSuffix(b, "%")) {
		return &ConfigError{Key: "block_allocator_memory", Err: fmt.Errorf("%q is not a size such as 1GB or 512MiB", c.BlockAllocatorMemory)}
	}
	if c.MemoryLimit != "" && !memoryLimitRE.MatchString(strings.TrimSpace(c.MemoryLimit)) {
		return &ConfigError{Key: "memory_limit", Err: fmt.Errorf("%q is not a size such as 4GB, 512MiB or 50%%", c.MemoryLimit)}
	}
	if c.Threads < 0 {
		return &ConfigError{Key: "threads", Err: fmt.Errorf("must not be negative, got %d", c.Threads)}
	}
	if c.PollInterval < 10*time.Millisecond {
		return &ConfigError{Key: "poll_interval", Err: fmt.Errorf("must be at least 10ms, got %s", c.PollInterval)}
	}
	if c.SourceParallelism < 1 || c.SourceParallelism > 256 {
		return &ConfigError{Key: "source_parallelism", Err: fmt.Errorf("must be between 1 and 256, got %d", c.SourceParallelism)}
	}
	for _, root := range c.FileRoots {
		fi, err := os.Stat(root)
		switch {
		case err != nil:
			return &ConfigError{Key: "file_roots", Err: err}
		case !fi.IsDir():
			return &ConfigError{Key: "file_roots", Err: fmt.Errorf("%s is not a directory", root)}
		}
	}
	if c.MaxMessageSize < 4096 || c.MaxMessageSize > wire.MaxMessageSizeLimit {
		return &ConfigError{Key: "max_message_size", Err: fmt.Errorf("must be between 4096 and %d, got %d", wire.MaxMessageSizeLimit, c.MaxMessageSize)}
	}
	for key, d := range map[string]time.Duration{"idle_session_timeout": c.IdleSessionTimeout,
		"idle_in_transaction_session_timeout": c.IdleInTransactionSessionTimeout} {
		if d < 0 {
			return &ConfigError{Key: key, Err: fmt.Errorf("must not be negative, got %s", d)}
		}
	}
	if c.ShutdownTimeout < 0 {
		return &ConfigError{Key: "shutdown_timeout", Err: fmt.Errorf("must not be negative, got %s", c.ShutdownTimeout)}
	}
	if c.ObjectStorage.Endpoint != "" {
		o := c.ObjectStorage
		if o.CacheDir == "" {
			o.CacheDir = "cache" // checked as set; main puts it in the data directory
		}
		if err := o.Validate(); err != nil {
			key := objectStorageKey(err)
			return &ConfigError{Key: key, Err: errors.New(strings.TrimPrefix(err.Error(), `config key "`+key+`": `))}
		}
	}
	if _, err := c.SecretsKey(); err != nil { // secrets.go
		return err
	}
	if err := c.validateSecurity(); err != nil {
		return err
	}
	_, err = c.LoadEncryptionKeys()
	return err
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
	}
	return l, nil
}

// SessionDefaults are the defaults of PostgreSQL's session settings that
// the configuration sets.
func (c Config) SessionDefaults() map[string]string {
	m := map[string]string{}
	if c.IdleSessionTimeout > 0 {
		m["idle_session_timeout"] = strconv.FormatInt(c.IdleSessionTimeout.Milliseconds(), 10)
	}
	if c.IdleInTransactionSessionTimeout > 0 {
		m["idle_in_transaction_session_timeout"] = strconv.FormatInt(c.IdleInTransactionSessionTimeout.Milliseconds(), 10)
	}
	return m
}

// NewLogger returns the logger the configuration asks for, writing to w.
func (c Config) NewLogger(w io.Writer) *slog.Logger {
	level, _ := parseLevel(c.LogLevel) // validated
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
