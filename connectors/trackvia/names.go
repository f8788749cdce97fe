package trackvia

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The fixed streams, whose names views cannot take.
const (
	streamApps  = "apps"
	streamViews = "views"
	streamUsers = "users"
)

// maxSlug bounds the name part of a view stream: folder names stay short
// and readable, far below file system limits.
const maxSlug = 60

// foldRunes spells out letters that Unicode does not decompose into a
// base letter and accents.
var foldRunes = map[rune]string{
	'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'ł': "l", 'đ': "d", 'ð': "d", 'þ': "th", 'ı': "i",
}

// slug turns a view name into a stream name: lower-case ASCII letters,
// digits and single underscores ("Größenübersicht – Lager 📦" is
// "grossenubersicht_lager"). It is "" when nothing of name is left.
func slug(name string) string {
	var b strings.Builder
	sep := false
	for _, r := range norm.NFD.String(strings.ToLower(name)) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue // an accent of the letter before
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(r)
		case foldRunes[r] != "":
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteString(foldRunes[r])
		default:
			sep = true
		}
		if b.Len() >= maxSlug {
			break
		}
	}
	s := b.String()
	if len(s) > maxSlug {
		s = s[:maxSlug]
	}
	return strings.Trim(s, "_")
}

// streamNames names the stream of each view: its slug, or for the views
// whose slug is taken (by a fixed stream, or by a view of a lower id) the
// slug and the view id ("all_contacts_102"). Names are decided over every
// view the token can read, in id order, so a view keeps its name whatever
// the config selects and when views with higher ids are added.
func streamNames(views []view) map[int64]string {
	byID := slices.Clone(views)
	slices.SortFunc(byID, func(a, b view) int { return cmp.Compare(a.ID, b.ID) })
	taken := map[string]bool{streamApps: true, streamViews: true, streamUsers: true}
	names := make(map[int64]string, len(views))
	for _, v := range byID {
		if _, dup := names[v.ID]; dup {
			continue
		}
		id := strconv.FormatInt(v.ID, 10)
		base := slug(v.Name)
		name := base
		if name == "" {
			base, name = "view", "view_"+id
		}
		if taken[name] {
			name = base + "_" + id
		}
		for n := 2; taken[name]; n++ {
			name = base + "_" + id + "_" + strconv.Itoa(n)
		}
		taken[name] = true
		names[v.ID] = name
	}
	return names
}
