package capillary

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

// searchForms are the customer search queries that may list every
// customer, in the order they are tried when customer_query is unset. The
// search has no documented "list all" form
// (docs/vendors/capillary.md#customer-search): an empty q is the plain
// reading of a search with no terms, and "*" a search engine's wildcard.
var searchForms = []string{"", "*"}

// customers declares the customers stream: /v2/customers/search?q=query,
// limit and offset, pagination.total. The search has no update filter, so
// the stream is a full refresh; it is also the parent whose keys the
// transactions stream lists. A read of no customers is logged at Warn with
// the query, since a search form the API does not take as "everything"
// reads 0 customers rather than failing.
func (c *Config) customers(sc *schemas.Stream, query string, log *slog.Logger) (*stream.Stream, error) {
	st, err := stream.FromSchema(sc) // the total: pagination.total
	if err != nil {
		return nil, err
	}
	read := 0
	st.IDField = "userId"
	st.Pager = rest.LimitOffset{Limit: c.PageSize}
	st.Request = stream.Get(searchPath, url.Values{"q": {query}})
	// Select and Finish count the customers read. The transactions stream
	// lists the customers with Request and Info too, at the same time, but
	// not with these.
	st.Select = func(p *records.Page) (arrow.Record, error) {
		read += int(p.Record.NumRows())
		p.Record.Retain()
		return p.Record, nil
	}
	st.Finish = func(json.RawMessage) (json.RawMessage, error) {
		if read == 0 && log != nil {
			log.Warn("the customer search listed no customers; if the org has any, set customer_query to the search that lists them all",
				"stream", sc.Name, "q", query)
		}
		return nil, nil
	}
	return st, nil
}

// noCustomers is the transactions stream's stream.Child.Empty: transactions
// are listed per customer, so a search that listed no one read none, and
// the window is kept for a run that lists the customers.
func noCustomers(query string, probed bool) func() error {
	return func() error {
		how := fmt.Sprintf("customer_query %q", query)
		if probed {
			how = fmt.Sprintf("q=%q and q=%q (customer_query is unset)", searchForms[0], searchForms[1])
		}
		return fmt.Errorf("the customer search (%s) listed no customers, so no transactions were read; the window is kept for the next run. If the org has customers, set customer_query to the search that lists them all", how)
	}
}

// searchProbe is what one customer search form answered.
type searchProbe struct {
	Pagination struct {
		Total json.RawMessage `json:"total"`
	} `json:"pagination"`
	Data json.RawMessage `json:"data"`
}

// count returns the customers the search reports: pagination.total (a
// number or a numeric string) or, without it, the records on the page (a
// list, or a bare object).
func (p *searchProbe) count() int {
	if n, err := strconv.Atoi(strings.Trim(string(p.Pagination.Total), `"`)); err == nil {
		return n
	}
	var list []json.RawMessage
	if json.Unmarshal(p.Data, &list) == nil {
		return len(list)
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(p.Data, &obj) == nil && len(obj) > 0 {
		return 1
	}
	return 0
}

// customerQuery returns the search query that lists every customer:
// customer_query when set; otherwise the first of searchForms the API
// accepts and finds customers with, or the first it accepts if it finds
// none with any (a new org, or a search that lists no one: see
// noCustomers). probed says whether the forms were tried. An auth,
// temporary or cancelled error ends the probe; a rejected form is skipped,
// and if every form is rejected the last rejection is returned.
func (s *source) customerQuery(ctx context.Context) (q string, probed bool, err error) {
	if s.cfg.CustomerQuery != nil {
		return *s.cfg.CustomerQuery, false, nil
	}
	log := sdk.Logger(ctx).With("connector", "capillary", "stream", streamCustomers)
	accepted := -1
	var last error
	for i, form := range searchForms {
		var p searchProbe
		err := s.client.Do(ctx, rest.Request{
			Path:  searchPath,
			Query: url.Values{"q": {form}, "limit": {"1"}, "offset": {"0"}},
			Label: fmt.Sprintf("customer search q=%q", form),
		}, func(resp *rest.Response) error {
			if err := json.Unmarshal(resp.Body, &p); err != nil {
				return fmt.Errorf("customer search q=%q: %w: %w", form, err, sdk.ErrMalformed)
			}
			return nil
		})
		switch {
		case ctx.Err() != nil, errors.Is(err, sdk.ErrAuth), errors.Is(err, sdk.ErrTemporary):
			return "", true, err
		case err != nil:
			log.Info("the customer search rejects this form", "q", form, "error", err)
			last = err
			continue
		}
		if n := p.count(); n > 0 {
			log.Info("the customer search lists every customer with this form", "q", form, "customers", n)
			return form, true, nil
		}
		log.Info("the customer search finds no customers with this form", "q", form)
		if accepted < 0 {
			accepted = i
		}
	}
	if accepted < 0 {
		return "", true, fmt.Errorf("every customer search form was rejected (set customer_query): %w", last)
	}
	return searchForms[accepted], true, nil
}
