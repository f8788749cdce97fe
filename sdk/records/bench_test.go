package records_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk/records"
)

// employeesPage returns a TrackTik /employees list page of n records, shaped
// like the vendor's (meta envelope, camelCase keys, id-like integers,
// empty-string phones, the odd escaped or non-ASCII name).
func employeesPage(n, offset int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"meta":{"count":%d,"request":["employees"],"itemCount":%d,`+
		`"security":{"granted":true,"requested":"admin:employees:view","grantedBy":"admin:*","scope":"core:entities:employees:read"},`+
		`"debug":null,"resource":"employees","limit":%d,"offset":%d},"data":[`, offset+n*3, n, n, offset)
	first := []string{"John", "Ana", "Émilie", "Kwame", "Li", "O\"Brien", "Sofía", "Jean-Luc"}
	last := []string{"Doe", "Silva", "Tremblay", "Mensah", "Wei", "Smith", "García", "Picard"}
	status := []string{"ACTIVE", "ACTIVE", "ACTIVE", "INACTIVE", "TERMINATED"}
	for i := range n {
		id := offset + i + 3000
		f, l := first[i%len(first)], last[(i/3)%len(last)]
		if i > 0 {
			b.WriteByte(',')
		}
		phone := `""`
		if i%3 == 0 {
			phone = fmt.Sprintf(`"+1 514 555 %04d"`, i%10000)
		}
		fmt.Fprintf(&b, `{"jobTitle":"Security Guard %d","region":%d,"employmentProfile":%d,"address":%d,`+
			`"id":%d,"customId":"%d","firstName":%q,"lastName":%q,"name":%q,"primaryPhone":%s,"secondaryPhone":"",`+
			`"email":"%s.%s%d@example.com","status":%q,"startDate":"20%02d-%02d-%02d",`+
			`"avatar":"https://acme.staffr.net/rest/v1/avatar/employees/%d/4bab77d25280094b20dc81632fec07d9"}`,
			i%4+1, 1914+i%7, 1920+i%3, 15410+i, id, id, f, l, f+" "+l, phone,
			strings.ToLower(f[:1]), strings.ToLower(l), i, status[i%len(status)],
			10+i%15, i%12+1, i%28+1, id)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

func BenchmarkDecode(b *testing.B) {
	benchmarkDecode(b, employeesPage(1000, 0), 1000)
}

// BenchmarkDecode_Rescued decodes a page whose every record has two keys
// the schema lacks and a value that does not fit its column: the cost of
// rescuing them.
func BenchmarkDecode_Rescued(b *testing.B) {
	body := strings.ReplaceAll(string(employeesPage(1000, 0)), `"avatar":`, `"uri":"/rest/v1/x","customFields":{"badge":1042,"note":null},"avatar":`)
	body = strings.ReplaceAll(body, `"region":`, `"region":{"id":`)
	body = strings.ReplaceAll(body, `,"employmentProfile":`, `},"employmentProfile":`)
	benchmarkDecode(b, []byte(body), 0)
}

// benchmarkDecode decodes body, a page of 1000 employees of which nulls
// have nothing rescued.
func benchmarkDecode(b *testing.B, body []byte, nulls int) {
	s, err := schemas.Load("tracktik", "employees")
	if err != nil {
		b.Fatal(err)
	}
	mem := memory.NewGoAllocator()
	dec := records.NewDecoder(mem, s.Schema, records.Options{Stream: "employees", Records: []string{"data"}})
	defer dec.Release()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		page, err := dec.Decode(body)
		if err != nil {
			b.Fatal(err)
		}
		if page.Record.NumRows() != 1000 {
			b.Fatalf("rows = %d, want 1000", page.Record.NumRows())
		}
		if n := records.Rescued(page.Record).NullN(); n != nulls {
			b.Fatalf("%d records with nothing rescued, want %d", n, nulls)
		}
		page.Record.Release()
	}
}

// BenchmarkScan walks the page of BenchmarkDecode token by token with the
// Decoder's tokenizer alone.
func BenchmarkScan(b *testing.B) {
	body := employeesPage(1000, 0)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := records.ScanWalk(body); err != nil {
			b.Fatal(err)
		}
	}
}
