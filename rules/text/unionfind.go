package text

// UnionFind is a disjoint-set forest over dense ids 0..n-1, with path
// halving and union by size, for turning confirmed near-duplicate pairs into
// clusters (connected components).
type UnionFind struct {
	parent []int32
	size   []int32
}

// NewUnionFind returns n singletons.
func NewUnionFind(n int) *UnionFind {
	u := &UnionFind{}
	u.Reset(n)
	return u
}

// Reset makes 0..n-1 singletons again, reusing storage.
func (u *UnionFind) Reset(n int) {
	if cap(u.parent) < n {
		u.parent = make([]int32, n)
		u.size = make([]int32, n)
	}
	u.parent, u.size = u.parent[:n], u.size[:n]
	for i := range u.parent {
		u.parent[i] = int32(i)
		u.size[i] = 1
	}
}

// Grow adds singletons up to n ids.
func (u *UnionFind) Grow(n int) {
	for i := len(u.parent); i < n; i++ {
		u.parent = append(u.parent, int32(i))
		u.size = append(u.size, 1)
	}
}

// MakeSet makes x a singleton again. Only safe when no other id's parent
// chain passes through x (its set is being taken apart as a whole).
func (u *UnionFind) MakeSet(x int32) {
	u.parent[x] = x
	u.size[x] = 1
}

// Len is the number of ids.
func (u *UnionFind) Len() int { return len(u.parent) }

// Find returns the representative of x's set.
func (u *UnionFind) Find(x int32) int32 {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

// Root returns the representative of x's set without shortening the path,
// so several goroutines may call it while nothing joins sets.
func (u *UnionFind) Root(x int32) int32 {
	for u.parent[x] != x {
		x = u.parent[x]
	}
	return x
}

// Union joins the sets of a and b and reports whether they were apart.
func (u *UnionFind) Union(a, b int32) bool {
	ra, rb := u.Find(a), u.Find(b)
	if ra == rb {
		return false
	}
	if u.size[ra] < u.size[rb] {
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
	u.size[ra] += u.size[rb]
	return true
}
