package trackviasim

// FieldType is a TrackVia field type name as it appears in a view's
// structure ("type" key),
// docs/vendors/trackvia.md#field-types-and-values.
type FieldType string

// The field types TrackVia reports in a structure
// (docs/vendors/trackvia.md#field-types-and-values).
const (
	ShortAnswer   FieldType = "shortAnswer"
	Paragraph     FieldType = "paragraph"
	Email         FieldType = "email"
	URL           FieldType = "url"
	Number        FieldType = "number"
	Currency      FieldType = "currency"
	Percentage    FieldType = "percentage"
	AutoIncrement FieldType = "autoIncrement"
	DropDown      FieldType = "dropDown"
	Checkbox      FieldType = "checkbox"
	Date          FieldType = "date"
	DateTime      FieldType = "datetime"
	Document      FieldType = "document"
	Image         FieldType = "image"
	User          FieldType = "user"
	UserGroup     FieldType = "userGroup"
	UserStatus    FieldType = "userStatus"
	TimeZone      FieldType = "timeZone"
	Identifier    FieldType = "identifier"
	Relationship  FieldType = "relationship"
	Point         FieldType = "point"
)

// FieldTypes returns every FieldType, in the order
// docs/vendors/trackvia.md#field-types-and-values lists them.
func FieldTypes() []FieldType {
	return []FieldType{
		ShortAnswer, Paragraph, Email, URL, Number, Currency, Percentage, AutoIncrement,
		DropDown, Checkbox, Date, DateTime, Document, Image,
		User, UserGroup, UserStatus, TimeZone, Identifier, Relationship, Point,
	}
}

// A Field is one entry of a view's structure. Its JSON form is
// {"name","type","required","unique","canRead","canUpdate","canCreate","choices","fieldMetaId"}
// (canRead is always true; canUpdate and canCreate are !ReadOnly).
//
// Two names have system meaning: a datetime field named "Created" holds the
// record's creation time and one named "Last Updated" its last change (Update
// moves it to Options.Now). An identifier field holds the record id as text,
// like TrackVia's "Record ID". A number field named "id" (the users structure
// has one) is the internal id itself and is written once, under "id".
type Field struct {
	// Name is the display name, the key of the value in each data row.
	Name string
	// Type is the TrackVia field type.
	Type FieldType
	// Required fields are never null.
	Required bool
	// Unique is reported in the structure only.
	Unique bool
	// ReadOnly reports canUpdate and canCreate as false.
	ReadOnly bool
	// Choices are the options of a dropDown or checkbox field; when empty for
	// those types, SetStructure and AddField fill in three choices.
	Choices []string
	// FieldMetaID is TrackVia's stable field id; it survives renames and
	// seeds the field's values. Zero means "assign a fresh one".
	FieldMetaID int64
}

// An App is a TrackVia application, as listed by GET /openapi/apps.
type App struct {
	ID   int64
	Name string
}

// A View is a TrackVia view, as listed by GET /openapi/views.
type View struct {
	ID      int64
	Name    string
	AppName string
}

// The IDs of the simulated views. Each view has its own record ids:
// view 101 starts at 1, 102 at 5001, 201 at 10001, 301 at 20001, 302 at 30001.
const (
	// ViewAllContacts is "All Contacts" in app "CRM".
	ViewAllContacts int64 = 101
	// ViewAllContactsDash is "all-contacts" in app "CRM": its name equals
	// ViewAllContacts' name once lower-cased and sanitised to [a-z0-9_].
	ViewAllContactsDash int64 = 102
	// ViewWorkOrders is "Work Orders" in app "Field Ops".
	ViewWorkOrders int64 = 201
	// ViewLager is "Größenübersicht – Lager 📦" in app "Inventar Übersicht".
	ViewLager int64 = 301
	// ViewEmpty is "Leere Ansicht" in app "Inventar Übersicht"; it has no
	// records unless Options.Records or Append says otherwise.
	ViewEmpty int64 = 302
	// UsersViewID addresses GET /openapi/users in the methods that take a
	// view ID (Record, IDs, Append, Update, Structure, Count...).
	UsersViewID int64 = 0
)

// Default record counts, used when Options.Records has no entry for a view.
const (
	DefaultAllContacts     = 250
	DefaultAllContactsDash = 120
	DefaultWorkOrders      = 1500 // more than one default page of 1000
	DefaultLager           = 300
	DefaultEmpty           = 0
	DefaultUsers           = 25
)

// gen picks the word list for text values; the zero value means "by type".
type gen int

const (
	genAuto gen = iota
	genCompany
	genPerson
	genFirst
	genLast
	genZip
	genTitle
	genArticle
	genEmoji
)

// field is a Field plus how the simulator fills it.
type field struct {
	Field
	gen    gen
	target int64 // relationship: the view whose record ids it points at
}

// viewDef is one entry of the built-in catalog.
type viewDef struct {
	view    View
	idBase  int64
	count   int
	fields  []field
	appID   int64
	isUsers bool
}

func f(name string, t FieldType) field { return field{Field: Field{Name: name, Type: t}} }

func (x field) req() field                { x.Required = true; return x }
func (x field) ro() field                 { x.ReadOnly = true; return x }
func (x field) uniq() field               { x.Unique = true; return x }
func (x field) choices(c ...string) field { x.Choices = c; return x }
func (x field) with(g gen) field          { x.gen = g; return x }
func (x field) to(view int64) field       { x.target = view; return x }

func recordID() field { return f("Record ID", Identifier).uniq().ro() }

// catalog returns the built-in apps and views; field meta ids are assigned
// by the caller in this order, starting at 1001.
func catalog() ([]App, []viewDef) {
	apps := []App{{1, "CRM"}, {2, "Field Ops"}, {3, "Inventar Übersicht"}}
	views := []viewDef{
		{
			view: View{ViewAllContacts, "All Contacts", "CRM"}, appID: 1, idBase: 1, count: DefaultAllContacts,
			fields: []field{
				recordID(),
				f("Account Name", ShortAnswer).req().with(genCompany),
				f("Customer Name", ShortAnswer).with(genPerson),
				f("Status", DropDown).choices("Open", "Closed", "On Hold"),
				f("Revenue", Currency),
				f("Locations", Checkbox).choices("CO", "CA", "NY", "Zürich"),
				f("Contact Email", Email),
				f("Website", URL),
				f("Account Manager", User),
				f("Notes", Paragraph),
				f("Created", DateTime).ro(),
				f("Last Updated", DateTime).ro(),
			},
		},
		{
			view: View{ViewAllContactsDash, "all-contacts", "CRM"}, appID: 1, idBase: 5001, count: DefaultAllContactsDash,
			fields: []field{
				recordID(),
				f("Account", Relationship).to(ViewAllContacts),
				f("Zip Code", ShortAnswer).with(genZip),
				f("Discount", Percentage),
				f("Lead Score", Number),
				f("Owner Group", UserGroup),
				f("Last Updated", DateTime).ro(),
			},
		},
		{
			view: View{ViewWorkOrders, "Work Orders", "Field Ops"}, appID: 2, idBase: 10001, count: DefaultWorkOrders,
			fields: []field{
				recordID(),
				f("WO Number", AutoIncrement).uniq().ro(),
				f("Title", ShortAnswer).req().with(genTitle),
				f("Priority", DropDown).choices("Low", "Medium", "High", "Urgent"),
				f("Due Date", Date),
				f("Scheduled At", DateTime),
				f("Site Location", Point),
				f("Technician", User),
				f("Photo", Image),
				f("Report", Document),
				f("Hours", Number),
				f("Completed", Checkbox).choices("Yes"),
				f("Created", DateTime).ro(),
				f("Last Updated", DateTime).ro(),
			},
		},
		{
			view: View{ViewLager, "Größenübersicht – Lager 📦", "Inventar Übersicht"}, appID: 3, idBase: 20001, count: DefaultLager,
			fields: []field{
				recordID(),
				f("Artikel", ShortAnswer).req().with(genArticle),
				f("Größe", Number),
				f("Preis (€)", Currency),
				f("Anteil %", Percentage),
				f("Beschreibung", Paragraph),
				f("Lieferdatum", Date),
				f("Zeitzone", TimeZone),
				f("Benutzerstatus", UserStatus),
				f("Verantwortlich", User),
				f("Gruppe", UserGroup),
				f("Standort", Point),
				f("Kategorie", DropDown).choices("Werkzeug", "Ersatzteil", "Verbrauchsmaterial"),
				f("Etiketten", Checkbox).choices("rot", "grün", "blau"),
				f("Lieferant", Relationship).to(ViewAllContacts),
				f("Notiz 📝", ShortAnswer).with(genEmoji),
				f("Last Updated", DateTime).ro(),
			},
		},
		{
			view: View{ViewEmpty, "Leere Ansicht", "Inventar Übersicht"}, appID: 3, idBase: 30001, count: DefaultEmpty,
			fields: []field{
				recordID(),
				f("Name", ShortAnswer).req().with(genArticle),
				f("Last Updated", DateTime).ro(),
			},
		},
		{
			// The users structure follows the .NET SDK fixture: "id" is listed
			// in the structure, and the other keys are snake_case or spaced.
			view: View{UsersViewID, "users", ""}, idBase: 1, count: DefaultUsers, isUsers: true,
			fields: []field{
				f("id", Number).uniq().ro(),
				f("first_name", ShortAnswer).req().with(genFirst),
				f("last_name", ShortAnswer).req().with(genLast),
				f("email", Email).req(),
				f("Status", UserStatus).req(),
				f("Time Zone", TimeZone),
				f("Created", DateTime).ro(),
			},
		},
	}
	return apps, views
}
