package sqlite

// DetailField exposes detailField to the tests of the packed detail.
var DetailField = detailField

// AppendDetail exposes appendDetail.
var AppendDetail = appendDetail
