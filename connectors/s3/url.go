package s3

import (
	"path"
	"path/filepath"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Scheme is the URL scheme of object storage locations.
const Scheme = "s3://"

// ParseURL splits s3://bucket/pattern into the bucket and the key pattern.
// The pattern uses path.Match's `*`, `?` and `[...]` within one segment
// (between slashes) and a whole segment `**` for any number of segments.
// An empty pattern or one ending in a slash means every object below:
// s3://b/data/ is s3://b/data/**. A bad URL is a 22023 error naming it;
// a URL holding credentials is refused without being quoted.
func ParseURL(u string) (bucket, pattern string, err error) {
	if len(u) < len(Scheme) || !strings.EqualFold(u[:len(Scheme)], Scheme) {
		if strings.Contains(u, "@") {
			return "", "", pgerr.New(pgerrcode.InvalidParameterValue, "object storage URL must start with s3:// (and must not contain credentials)")
		}
		return "", "", pgerr.New(pgerrcode.InvalidParameterValue, "object storage URL %q must start with s3://", u)
	}
	rest := u[len(Scheme):]
	bucket, pattern, _ = strings.Cut(rest, "/")
	if strings.Contains(bucket, "@") {
		return "", "", pgerr.New(pgerrcode.InvalidParameterValue, "object storage URL must not contain credentials; set object_storage.access_key and object_storage.secret_key")
	}
	if err := CheckBucket(bucket); err != nil {
		return "", "", pgerr.New(pgerrcode.InvalidParameterValue, "object storage URL %q: %s", u, err.Error())
	}
	if pattern == "" || strings.HasSuffix(pattern, "/") {
		pattern += "**"
	}
	if err := CheckPattern(pattern); err != nil {
		return "", "", pgerr.New(pgerrcode.InvalidParameterValue, "object storage URL %q: %s", u, err.Error())
	}
	return bucket, pattern, nil
}

// CheckBucket returns a 22023 error unless name is a valid S3 bucket name:
// 3 to 63 lower case letters, digits, dots and hyphens, beginning and
// ending with a letter or digit.
func CheckBucket(name string) error {
	bad := func(why string) error {
		return pgerr.New(pgerrcode.InvalidParameterValue, "invalid bucket name %q: %s", name, why)
	}
	if len(name) < 3 || len(name) > 63 {
		return bad("must be 3 to 63 characters long")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return bad("must begin and end with a letter or digit")
			}
		default:
			return bad("only lower case letters, digits, '.' and '-' are allowed")
		}
	}
	if strings.Contains(name, "..") {
		return bad("must not contain \"..\"")
	}
	return nil
}

// CheckPattern returns a 22023 error when a key pattern is malformed: a bad
// `[...]` class, an empty segment, or a leading slash.
func CheckPattern(pattern string) error {
	if pattern == "" {
		return pgerr.New(pgerrcode.InvalidParameterValue, "empty key pattern")
	}
	for _, seg := range strings.Split(pattern, "/") {
		if seg == "" {
			return pgerr.New(pgerrcode.InvalidParameterValue, "key pattern %q has an empty path segment", pattern)
		}
		if _, err := path.Match(seg, ""); err != nil {
			return pgerr.New(pgerrcode.InvalidParameterValue, "key pattern %q: bad segment %q: %v", pattern, seg, err)
		}
	}
	return nil
}

// Match reports whether key matches pattern: path.Match per segment, and a
// segment `**` matching any number of segments (none included; a trailing
// `**` matches one or more, i.e. every object below). The error is
// path.ErrBadPattern's for a malformed pattern.
func Match(pattern, key string) (bool, error) {
	if err := CheckPattern(pattern); err != nil {
		return false, path.ErrBadPattern
	}
	return matchSegs(strings.Split(pattern, "/"), strings.Split(key, "/")), nil
}

func matchSegs(p, k []string) bool {
	for len(p) > 0 {
		if p[0] == "**" {
			rest := p[1:]
			for len(rest) > 0 && rest[0] == "**" {
				rest = rest[1:]
			}
			if len(rest) == 0 {
				return len(k) > 0
			}
			for i := 0; i < len(k); i++ {
				if matchSegs(rest, k[i:]) {
					return true
				}
			}
			return false
		}
		if len(k) == 0 {
			return false
		}
		if ok, _ := path.Match(p[0], k[0]); !ok {
			return false
		}
		p, k = p[1:], k[1:]
	}
	return len(k) == 0
}

// LiteralPrefix is the part of pattern before its first meta character
// (`*`, `?`, `[` or `\`): the prefix to list so that every matching key is
// returned. A pattern without meta characters is its own prefix.
func LiteralPrefix(pattern string) string {
	if i := strings.IndexAny(pattern, `*?[\`); i >= 0 {
		return pattern[:i]
	}
	return pattern
}

// localRel checks that key can be a file below a local directory and
// returns it with the OS separator: no empty, "." or ".." segment (which
// would collide with another key or escape the directory).
func localRel(key string) (string, error) {
	if key == "" {
		return "", pgerr.New(pgerrcode.IOError, "empty object key")
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsRune(seg, 0) {
			return "", pgerr.New(pgerrcode.IOError, "object key %q cannot be stored as a local file: it has an empty, \".\" or \"..\" path segment", key)
		}
	}
	return filepath.FromSlash(key), nil
}
