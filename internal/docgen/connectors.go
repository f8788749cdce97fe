package main

import (
	"github.com/quiver-etl/quiver/connectors/capillary"
	"github.com/quiver-etl/quiver/connectors/tracktik"
	"github.com/quiver-etl/quiver/connectors/trackunit"
	"github.com/quiver-etl/quiver/connectors/trackvia"
	"github.com/quiver-etl/quiver/examples/harvest"
)

// registry lists the connectors the docs cover, in page order. Adding a
// connector is one line here; its page then takes the streams from
// schemas/<name>/ or the streams/ folder of its package, the config keys from its Spec's JSON Schema, the intro
// from its package doc, the example from examples/configs/<name>.yaml (or
// one built from the schema) and the credentials and incremental notes
// from notes/<name>.md, when those exist. A connector whose streams are
// found at run time gives a dynamic func (see trackviaTypes).
func registry() []entry {
	return []entry{
		{c: tracktik.New()},
		{c: trackvia.New(), dynamic: trackviaTypes},
		{c: trackunit.New()},
		{c: capillary.New()},
		{c: harvest.New(), dir: "examples/harvest"}, // the worked example of docs/writing-a-connector.md
	}
}
