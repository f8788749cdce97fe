package records_test

import (
	"errors"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
)

func ExampleDecoder_Decode() {
	stream, err := schemas.Load("tracktik", "employees")
	if err != nil {
		fmt.Println(err)
		return
	}
	dec := records.NewDecoder(memory.DefaultAllocator, stream.Schema, records.Options{
		Stream:  stream.Name,
		Records: []string{"data"},
	})
	defer dec.Release()

	body := []byte(`{
	  "meta": {"count": 3357, "itemCount": 2, "limit": 2, "offset": 0},
	  "data": [
	    {"id": 3064, "firstName": "John", "lastName": "Doe", "region": 1914, "startDate": "2010-01-01"},
	    {"id": "3065", "firstName": "Ana", "region": null, "startDate": "2012-03-04T08:00:00+00:00"}
	  ]
	}`)
	page, err := dec.Decode(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer page.Record.Release()

	total, _ := page.Envelope.Int("meta.count")
	fmt.Printf("%d of %d rows\n", page.Record.NumRows(), total)
	for _, name := range []string{"id", "first_name", "region", "start_date"} {
		col := page.Record.Column(page.Record.Schema().FieldIndices(name)[0])
		fmt.Printf("%s: %s, %s\n", name, col.ValueStr(0), col.ValueStr(1))
	}

	// What the schema cannot take is rescued: a key it does not know, and
	// a value that does not fit its column, which is then null.
	body = []byte(`{"data":[{"startDate":"31/12/2024","id":42,"badge":{"no":7}}]}`)
	page, err = dec.Decode(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer page.Record.Release()
	rescued := page.Record.Column(page.Record.Schema().FieldIndices(records.RescueColumn)[0])
	fmt.Printf("start_date: %s, %s: %s\n", page.Record.Column(13).ValueStr(0), records.RescueColumn, rescued.ValueStr(0))

	// A contract that says fail keeps the strict behaviour.
	strict := records.NewDecoder(memory.DefaultAllocator, stream.Schema, records.Options{
		Stream:   stream.Name,
		Records:  []string{"data"},
		Contract: sdk.SchemaContract{OnMismatch: sdk.Fail},
	})
	defer strict.Release()
	_, err = strict.Decode(body)
	var fe *records.FieldError
	fmt.Println(errors.As(err, &fe), fe.Field)
	fmt.Println(err)
	// Output:
	// 2 of 3357 rows
	// id: 3064, 3065
	// first_name: John, Ana
	// region: 1914, (null)
	// start_date: 2010-01-01, 2012-03-04
	// start_date: (null), _quiver_rescued: {"startDate":"31/12/2024","badge":{"no":7}}
	// true start_date
	// records: stream employees record id=42: field start_date: want date32, got "31/12/2024"
}
