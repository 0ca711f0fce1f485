package app

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/keysync/keysync/pkg/normalize"
	"github.com/keysync/keysync/pkg/sqlite"
)

// keyNormalizer is the config's key normalization, as sync applies it, for
// the keys an operator types. Without a readable config, --db given, keys
// are taken as typed.
func keyNormalizer(c *cli.Context) (func(string) string, error) {
	cfg, err := loadConfig(c)
	if err != nil {
		if c.String("db") != "" {
			return func(k string) string { return k }, nil
		}
		return nil, err
	}
	n := normalize.New(cfg.Normalize)
	return n.Key, nil
}

// typedKey is a key as the operator typed it and as keysync normalizes it.
type typedKey struct{ raw, norm string }

// String names the key in messages: `"cust_311971" (normalized "CUST-00311971")`.
func (k typedKey) String() string {
	if k.norm == "" || k.norm == k.raw {
		return fmt.Sprintf("%q", k.raw)
	}
	return fmt.Sprintf("%q (normalized %q)", k.raw, k.norm)
}

// masterKeys resolves the keys an operator typed to registry keys: each is
// normalized with the config's rules (as suppress add does); when the
// registry has no such key the exact text is used, so a namespaced key
// (A-B-CUST-00311971) is found as typed. A key in neither form is returned
// normalized, and reported in missing.
func masterKeys(ctx context.Context, c *cli.Context, r *sqlite.Reader, raws []string) (keys []string, missing []typedKey, err error) {
	norm, err := keyNormalizer(c)
	if err != nil {
		return nil, nil, err
	}
	for _, raw := range raws {
		k := typedKey{raw: raw, norm: norm(raw)}
		found := ""
		for _, cand := range []string{k.norm, k.raw} {
			if cand == "" {
				continue
			}
			_, ok, err := r.MasterKey(ctx, cand)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				found = cand
				break
			}
		}
		if found == "" {
			missing = append(missing, k)
			found = k.norm
			if found == "" {
				found = k.raw
			}
		}
		keys = append(keys, found)
	}
	return keys, missing, nil
}
