package source

// CanonicalUTC exposes canonicalUTC to the tests of package source_test.
var CanonicalUTC = canonicalUTC
