// Package pgcodec maps Arrow columns to PostgreSQL types: the OIDs and
// RowDescription fields a column is described with, and the text and binary
// encodings of its values in DataRow messages. It also decodes Bind
// parameters into Go values for the engine.
//
// It is a leaf package (it imports Arrow, never DuckDB), shared by wire/ which
// encodes results and internal/engine which describes prepared statements.
package pgcodec
