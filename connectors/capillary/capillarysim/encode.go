package capillarysim

import (
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// enc appends JSON by hand. With quote set, numbers and booleans are written
// as JSON strings, the way Capillary's XML-converted v1.1 JSON carries them.
type enc struct {
	b     []byte
	quote bool
}

// v11Time is the v1.1 layout for times: wall clock in the org's zone.
const v11Time = "2006-01-02 15:04:05"

// v2Time is the v2 layout: RFC 3339 with a numeric offset, never "Z".
const v2Time = "2006-01-02T15:04:05-07:00"

func (e *enc) raw(s string) { e.b = append(e.b, s...) }

func (e *enc) num(v int64) {
	if e.quote {
		e.b = append(e.b, '"')
	}
	e.b = strconv.AppendInt(e.b, v, 10)
	if e.quote {
		e.b = append(e.b, '"')
	}
}

// money writes cents as a decimal amount in its shortest form (130, 12.5,
// 12.34), which decodes to exactly float64(cents)/100.
func (e *enc) money(cents int64) {
	if e.quote {
		e.b = append(e.b, '"')
	}
	e.b = strconv.AppendFloat(e.b, float64(cents)/100, 'f', -1, 64)
	if e.quote {
		e.b = append(e.b, '"')
	}
}

func (e *enc) boolean(v bool) {
	if e.quote {
		e.b = append(e.b, '"')
	}
	e.b = strconv.AppendBool(e.b, v)
	if e.quote {
		e.b = append(e.b, '"')
	}
}

// str writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func (e *enc) str(s string) {
	e.b, _ = jsontext.AppendQuote(e.b, s)
}

// time writes t as a string in layout.
func (e *enc) time(t time.Time, layout string) {
	e.b = append(e.b, '"')
	e.b = t.AppendFormat(e.b, layout)
	e.b = append(e.b, '"')
}

// list writes a v1.1 list wrapper {"name":[...]}; with bare set and exactly
// one item, the item is written without the array: {"name":{...}}.
func (e *enc) list(name string, n int, bare bool, item func(i int)) {
	e.raw(`{"`)
	e.raw(name)
	e.raw(`":`)
	if n == 1 && bare {
		item(0)
		e.raw(`}`)
		return
	}
	e.raw(`[`)
	for i := range n {
		if i > 0 {
			e.raw(`,`)
		}
		item(i)
	}
	e.raw(`]}`)
}

// Field helpers: each writes a raw prefix (the key, with its comma and
// colon) and then the value.

func (e *enc) strf(prefix, v string) {
	e.raw(prefix)
	e.str(v)
}

func (e *enc) numf(prefix string, v int64) {
	e.raw(prefix)
	e.num(v)
}

func (e *enc) moneyf(prefix string, cents int64) {
	e.raw(prefix)
	e.money(cents)
}

func (e *enc) timef(prefix string, t time.Time, layout string) {
	e.raw(prefix)
	e.time(t, layout)
}
