package reconcile

import (
	"github.com/keysync/keysync/pkg/config"
	"github.com/keysync/keysync/pkg/source"
)

// SourceSpec is the extraction spec of cfg's source name, as a run reads it.
// Other programs that must read the sources exactly as keysync does (the
// floor program of cmd/keysync-floor) build their extractors from it too.
func SourceSpec(cfg *config.Config, name string) source.Spec {
	src := cfg.Sources[name]
	return source.Spec{
		System: name, Type: src.Type, Path: src.Path, Delimiter: src.Delimiter,
		Columns: src.Columns, Fields: src.Fields, Items: src.Items, Query: src.Query, DSN: src.DSN,
		Key: src.Key, KeySeparator: cfg.Normalize.CollapseDelims, NoHeader: src.NoHeader,
		URL: src.URL, Headers: src.Headers, Pagination: src.Pagination, Next: src.Next,
		PageParam: src.PageParam, PageStart: src.PageStart, Timeout: src.Timeout,
		MaxPages: src.MaxPages, Retries: src.Retries, Backoff: src.Backoff,
		Input: source.Input{Encoding: src.Encoding, Member: src.Member, Pick: src.Pick},
	}
}
