package records

import "strings"

// ScanWalk walks body with a scanner as the Decoder does (peek, then
// readToken for a delimiter and readValue for anything else), for
// BenchmarkScan.
func ScanWalk(body []byte) error {
	var s scanner
	s.reset(body)
	for {
		switch s.peek() {
		case '{', '[', '}', ']', 0:
			if _, err := s.readToken(); err != nil {
				return err
			}
		default:
			if _, err := s.readValue(); err != nil {
				return err
			}
		}
		if len(s.stack) == 0 {
			return s.end()
		}
	}
}

// FuzzSeeds are the bodies FuzzDecode and FuzzScan start from.
var FuzzSeeds = []string{
	`{0}0`,
	`[{0}0]`,
	`{"data":{0}0}`,
	`[]`,
	`{"data":[]}`,
	`{"data":null,"meta":{"count":"3"}}`,
	`{"data":{"id":1}}`,
	`[{"id":1,"f":"1.5","b":"true","s":5,"d":"2024-01-02","t":1700000000,"l":"4","ll":[["a"],"b"],` +
		`"o":{"x":1,"tags":"t","p":{"q":"2024-01-02T03:04:05+01:00"}},"lo":{"k":"a","v":"2"}},{"id":"2","o":[]}]`,
	`{"meta":{"count":2},"data":[{"id":1,"lo":[{"k":"a"},{}],"zz":{"id":[1,2,{"a":[]}]}},{"id":2}]}`,
	`[{"id":1,"o":{"p":{}}}]`,
	`[{"id":1,"x":` + strings.Repeat(`[`, 200) + strings.Repeat(`]`, 200) + `}]`,
	`[{"id":1,"x":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200) + `}]`,
	`[{"id":1,"ll":` + strings.Repeat(`[`, 50) + strings.Repeat(`]`, 50) + `}]`,
	`[{"id":1,"s":"\ud800"}]`,
	"[{\"id\":1,\"s\":\"\xff\"}]",
	`[{"id":1},{"id":2`,
	`[{"id":1,"id":2}]`,
	`[{"id":1,"f":{"a":1},"s":[1],"l":[1,"x",{}],"o":{"x":"y","q":1,"p":"z"},"lo":[{"v":"w","u":[]}],"ll":[[{}]],"new":{ "k" : "\u00e9" }}]`,
	`[{"id":1,"o":{"p":{"q":"never"}}}]`,
}
