package store

import (
	"sort"
	"sync"
	"time"
)

// listingCache holds what each certificate's /out lists, in memory, so LIST /out costs what
// formatting the entries costs, not a database query over every receipt kept (issue 18: at
// 50,000 receipts the query was 60% of a LIST's CPU). It is filled from the database on a
// user's first LIST and then kept up to date by every write to the outbox, after its commit:
// new rows (Apply, SeedFinished), DELE (DeleteOutboxName), the retention sweep (ExpireOutbox);
// anything else (MarkDeleted, ResetAll) drops it, to be read again. A generation counter per
// user keeps a fill that raced with a write from installing a stale listing.
type listingCache struct {
	mu      sync.Mutex
	users   map[string]*userListing
	gen     map[string]uint64
	epoch   uint64 // +1 on every clear
	entries int    // over all users; past maxListed the cache is emptied
}

// fillToken is what a listing read from the database must still match to be installed.
type fillToken struct{ epoch, gen uint64 }

// maxListed bounds the cache: about 150 bytes an entry, so at most ~300 MB.
const maxListed = 2_000_000

type listEntry struct {
	id, size, created int64
	name              string
	dead              bool
}

// userListing is one user's live /out: the newest live row of each name, in id order.
type userListing struct {
	entries []listEntry
	byName  map[string]int // name -> index in entries of its live entry
	dead    int
}

// listed is a row a write added, for the cache.
type listed struct {
	username string
	entry    listEntry
}

func newListingCache() *listingCache {
	return &listingCache{users: map[string]*userListing{}, gen: map[string]uint64{}}
}

// get returns a copy of username's listing, or the token to fill it with.
func (c *listingCache) get(username string) ([]OutboxFile, bool, fillToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.users[username]
	if u == nil {
		return nil, false, fillToken{c.epoch, c.gen[username]}
	}
	out := make([]OutboxFile, 0, len(u.entries)-u.dead)
	for _, e := range u.entries {
		if !e.dead {
			out = append(out, OutboxFile{ID: e.id, Name: e.name, Size: e.size, CreatedAt: time.Unix(0, e.created).UTC()})
		}
	}
	return out, true, fillToken{}
}

// fill installs a listing read from the database, unless a write came in between.
func (c *listingCache) fill(username string, t fillToken, files []OutboxFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != t.epoch || c.gen[username] != t.gen || c.users[username] != nil {
		return
	}
	if c.entries+len(files) > maxListed {
		c.clearLocked()
	}
	u := &userListing{entries: make([]listEntry, 0, len(files)), byName: make(map[string]int, len(files))}
	for _, f := range files { // in id order, one per name (LiveOutbox's query)
		u.byName[f.Name] = len(u.entries)
		u.entries = append(u.entries, listEntry{id: f.ID, size: f.Size, created: f.CreatedAt.UnixNano(), name: f.Name})
	}
	c.users[username] = u
	c.entries += len(u.entries)
}

// add records committed new rows (ids ascending, as inserted).
func (c *listingCache) add(rows []listed) {
	if len(rows) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range rows {
		c.gen[r.username]++
		u := c.users[r.username]
		if u == nil {
			continue
		}
		if i, ok := u.byName[r.entry.name]; ok {
			if u.entries[i].id > r.entry.id {
				continue // an older row of a name: the newer stays listed
			}
			u.entries[i].dead = true
			u.dead++
		} else {
			c.entries++
		}
		u.byName[r.entry.name] = len(u.entries)
		u.entries = append(u.entries, r.entry)
		if len(u.entries) > 1 && u.entries[len(u.entries)-2].id > r.entry.id {
			// Rows arrive in id order while one goroutine writes /out (the receipt loop); two
			// writers committing at once may add theirs in the other order.
			u.sort()
		}
		u.compact()
	}
	if c.entries > maxListed {
		c.clearLocked()
	}
}

// removeName drops every live row of name of the owners (DELE).
func (c *listingCache) removeName(name string, owners []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range owners {
		c.gen[o]++
		if u := c.users[o]; u != nil {
			if i, ok := u.byName[name]; ok {
				u.entries[i].dead = true
				u.dead++
				delete(u.byName, name)
				c.entries--
				u.compact()
			}
		}
	}
}

// expire drops every row created before cutoff (the retention sweep).
func (c *listingCache) expire(cutoff int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, u := range c.users {
		c.gen[name]++
		for i := range u.entries {
			if e := &u.entries[i]; !e.dead && e.created < cutoff {
				e.dead = true
				u.dead++
				delete(u.byName, e.name)
				c.entries--
			}
		}
		u.compact()
	}
}

// clear drops every listing (they are read again from the database when next listed).
func (c *listingCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
}

func (c *listingCache) clearLocked() {
	c.epoch++
	c.users, c.entries = map[string]*userListing{}, 0
}

// compact rewrites the entries once more than half are dead.
func (u *userListing) compact() {
	if u.dead*2 <= len(u.entries) {
		return
	}
	live := make([]listEntry, 0, len(u.entries)-u.dead)
	for _, e := range u.entries {
		if !e.dead {
			u.byName[e.name] = len(live)
			live = append(live, e)
		}
	}
	u.entries, u.dead = live, 0
}

func (u *userListing) sort() {
	sort.Slice(u.entries, func(i, j int) bool { return u.entries[i].id < u.entries[j].id })
	for i, e := range u.entries {
		if !e.dead {
			u.byName[e.name] = i
		}
	}
}
