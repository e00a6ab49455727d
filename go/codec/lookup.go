package codec

import netipc "github.com/netdata/netipc/go"

// Lookup sizes (codecs.md §4-6). No struct tail padding on the wire.
const (
	LookupHeaderSize          = 16
	LookupLabelEntrySize      = 16
	CgroupsLookupItemFixed    = 28
	AppsLookupItemFixed       = 60
	AppsLookupKeySize         = 8
	AppsCommMax               = 15
	UIDUnset                  = 0xFFFFFFFF
	AppsLookupMinItem         = 63
	cgroupsLookupMinItemExtra = 30
)

// CgroupsLookupMinItem is the size of a replacement item for a path.
func CgroupsLookupMinItem(pathLen int) uint64 { return cgroupsLookupMinItemExtra + uint64(pathLen) }

// Orchestrator values (raw u16 on the wire; unknown values are kept).
const (
	OrchUnknown = 0
	OrchSystemd = 1
	OrchDocker  = 2
	OrchK8s     = 3
	OrchKVM     = 4
	OrchLXC     = 5
	OrchPodman  = 6
	OrchNspawn  = 7
)

// CGROUPS_LOOKUP item status.
const (
	CgroupKnown             = 0
	CgroupUnknownRetryLater = 1
	CgroupUnknownPermanent  = 2
	CgroupPayloadExceeded   = 3 // never reaches callers of the Level 2 call
	CgroupOversizedItem     = 4 // final: the answer can never fit
)

// APPS_LOOKUP pid status.
const (
	AppKnown           = 0
	AppUnknown         = 1
	AppPayloadExceeded = 2 // never reaches callers of the Level 2 call
	AppOversizedItem   = 3 // final
)

// APPS_LOOKUP cgroup status (meaningful when the pid status is KNOWN).
const (
	AppCgroupKnown             = 0
	AppCgroupUnknownRetryLater = 1
	AppCgroupUnknownPermanent  = 2
	AppCgroupHostRoot          = 3
)

func nameOf(names []string, v uint16) string {
	if int(v) < len(names) {
		return names[v]
	}
	return "?"
}

// CgroupLookupStatusName names a CGROUPS_LOOKUP status ("?" when unknown).
func CgroupLookupStatusName(s uint16) string {
	return nameOf([]string{"KNOWN", "UNKNOWN_RETRY_LATER", "UNKNOWN_PERMANENT", "PAYLOAD_EXCEEDED", "OVERSIZED_ITEM"}, s)
}

// AppStatusName names an APPS_LOOKUP pid status.
func AppStatusName(s uint16) string {
	return nameOf([]string{"KNOWN", "UNKNOWN", "PAYLOAD_EXCEEDED", "OVERSIZED_ITEM"}, s)
}

// AppCgroupStatusName names an APPS_LOOKUP cgroup status.
func AppCgroupStatusName(s uint16) string {
	return nameOf([]string{"KNOWN", "UNKNOWN_RETRY_LATER", "UNKNOWN_PERMANENT", "HOST_ROOT"}, s)
}

// OrchestratorName names an orchestrator value.
func OrchestratorName(o uint16) string {
	return nameOf([]string{"UNKNOWN", "SYSTEMD", "DOCKER", "K8S", "KVM", "LXC", "PODMAN", "NSPAWN"}, o)
}

// Label is one label: a non-empty key and a possibly empty value, NUL-free.
type Label struct {
	Key   []byte
	Value []byte
}

// Labels locates the label table of a decoded item; read with At.
type Labels struct {
	item  []byte
	table uint32
	Count uint16
}

// At returns label index (0 .. Count-1) in wire order; the strings alias
// the payload. ErrInvalidArgument for an index out of range.
func (l *Labels) At(index int) (Label, error) {
	if index < 0 || index >= int(l.Count) || l.item == nil {
		return Label{}, netipc.ErrInvalidArgument
	}
	e := l.item[uint64(l.table)+uint64(index)*LookupLabelEntrySize:]
	ko, kl := le.Uint32(e), le.Uint32(e[4:])
	vo, vl := le.Uint32(e[8:]), le.Uint32(e[12:])
	return Label{Key: l.item[ko : ko+kl : ko+kl], Value: l.item[vo : vo+vl : vo+vl]}, nil
}

func lookupPackedStart(n uint32) uint64 { return LookupHeaderSize + uint64(n)*8 }

func lookupEntry(p []byte, i uint32) (off, n uint32) {
	e := p[LookupHeaderSize+uint64(i)*8:]
	return le.Uint32(e), le.Uint32(e[4:])
}

func lookupAt(p []byte, n, off, length uint32) []byte {
	s := lookupPackedStart(n) + uint64(off)
	return p[s : s+uint64(length) : s+uint64(length)]
}

func checkHeaderStart(p []byte) error {
	if len(p) < LookupHeaderSize {
		return netipc.ErrTruncated
	}
	if le.Uint16(p) != 1 {
		return netipc.ErrBadLayout
	}
	if le.Uint16(p[2:]) != 0 {
		return netipc.ErrBadFlags
	}
	return nil
}

func checkRequestHeader(p []byte) (uint32, error) {
	if err := checkHeaderStart(p); err != nil {
		return 0, err
	}
	if le.Uint32(p[8:]) != 0 || le.Uint32(p[12:]) != 0 {
		return 0, netipc.ErrBadReserved
	}
	return le.Uint32(p[4:]), nil
}

func checkResponseHeader(p []byte) (uint32, uint64, error) {
	if err := checkHeaderStart(p); err != nil {
		return 0, 0, err
	}
	return le.Uint32(p[4:]), le.Uint64(p[8:]), nil
}

// checkDirectory: TRUNCATED, SIZE_OVERFLOW, then per entry in order
// BAD_ALIGNMENT, BAD_FIELD (length outside [minLen, maxLen]),
// OUT_OF_BOUNDS, OVERLAP.
func checkDirectory(p []byte, n, minLen, maxLen uint32) error {
	start := lookupPackedStart(n)
	if start > uint64(len(p)) {
		return netipc.ErrTruncated
	}
	packedLen := uint64(len(p)) - start
	if packedLen > maxU32 {
		return netipc.ErrSizeOverflow
	}
	prevEnd := uint64(0)
	for i := uint32(0); i < n; i++ {
		off, l := lookupEntry(p, i)
		if off%8 != 0 {
			return netipc.ErrBadAlignment
		}
		if l < minLen || l > maxLen {
			return netipc.ErrBadField
		}
		if uint64(off)+uint64(l) > packedLen {
			return netipc.ErrOutOfBounds
		}
		if i > 0 && uint64(off) < prevEnd {
			return netipc.ErrOverlap
		}
		prevEnd = uint64(off) + uint64(l)
	}
	return nil
}

// checkString: a response string it[off, off+n) with its NUL inside an item
// whose fixed part is `fixed` bytes: OUT_OF_BOUNDS, MISSING_NUL, EMBEDDED_NUL.
func checkString(it []byte, fixed, off, n uint32) ([]byte, error) {
	if off < fixed || uint64(off)+uint64(n)+1 > uint64(len(it)) {
		return nil, netipc.ErrOutOfBounds
	}
	if it[off+n] != 0 {
		return nil, netipc.ErrMissingNUL
	}
	s := it[off : off+n : off+n]
	if hasNUL(s) {
		return nil, netipc.ErrEmbeddedNUL
	}
	return s, nil
}

func labelString(it []byte, pos *uint64, off, n uint32) error {
	if uint64(off) != *pos {
		return netipc.ErrBadField
	}
	if _, err := checkString(it, 0, off, n); err != nil {
		return err
	}
	*pos = uint64(off) + uint64(n) + 1
	return nil
}

// checkLabels: the label table after the fixed strings ending at fixedEnd.
func checkLabels(it []byte, fixedEnd uint64, count uint16) (Labels, error) {
	l := Labels{item: it, Count: count}
	if count == 0 {
		if fixedEnd != uint64(len(it)) {
			return l, netipc.ErrBadField
		}
		return l, nil
	}
	table := align8(fixedEnd)
	pos := table + uint64(count)*LookupLabelEntrySize
	if pos > uint64(len(it)) {
		return l, netipc.ErrOutOfBounds
	}
	for i := fixedEnd; i < table; i++ {
		if it[i] != 0 {
			return l, netipc.ErrBadReserved
		}
	}
	for j := uint16(0); j < count; j++ {
		e := it[table+uint64(j)*LookupLabelEntrySize:]
		if le.Uint32(e[4:]) == 0 {
			return l, netipc.ErrBadField // empty key
		}
		if err := labelString(it, &pos, le.Uint32(e), le.Uint32(e[4:])); err != nil {
			return l, err
		}
		if err := labelString(it, &pos, le.Uint32(e[8:]), le.Uint32(e[12:])); err != nil {
			return l, err
		}
	}
	if pos != uint64(len(it)) {
		return l, netipc.ErrBadField // bytes after the last value
	}
	l.table = uint32(table)
	return l, nil
}

// ----------------------------------------------------------------- builder

// itemSpec describes one item for the common writer: its fixed part with
// every numeric field set, the fixed strings in canonical order with the
// positions of their (offset, length) pairs, and the labels (a slice, or a
// decoded item's table when labels is nil).
type itemSpec struct {
	fixed        [AppsLookupItemFixed]byte
	fixedLen     uint32
	nstrings     int
	strings      [3][]byte
	pairAt       [3]uint32
	labelCountAt uint32
	labelCount   uint16
	labels       []Label
	decoded      *Labels
}

func (s *itemSpec) label(j int) Label {
	if s.labels != nil {
		return s.labels[j]
	}
	l, _ := s.decoded.At(j)
	return l
}

func (s *itemSpec) size() (uint64, error) {
	end := uint64(s.fixedLen)
	for i := 0; i < s.nstrings; i++ {
		if hasNUL(s.strings[i]) {
			return 0, netipc.ErrEmbeddedNUL
		}
		end += uint64(len(s.strings[i])) + 1
	}
	if s.labelCount > 0 {
		if s.labels == nil && (s.decoded == nil || s.decoded.Count < s.labelCount || s.decoded.item == nil) {
			return 0, netipc.ErrInvalidArgument
		}
		if s.labels != nil && len(s.labels) < int(s.labelCount) {
			return 0, netipc.ErrInvalidArgument
		}
		end = align8(end) + uint64(s.labelCount)*LookupLabelEntrySize
		for j := 0; j < int(s.labelCount); j++ {
			l := s.label(j)
			if len(l.Key) == 0 {
				return 0, netipc.ErrBadField
			}
			if hasNUL(l.Key) || hasNUL(l.Value) {
				return 0, netipc.ErrEmbeddedNUL
			}
			end += uint64(len(l.Key)) + uint64(len(l.Value)) + 2
		}
	}
	if end > maxU32 {
		return 0, netipc.ErrSizeOverflow
	}
	return end, nil
}

func putString(it []byte, pos uint32, s []byte) uint32 {
	copy(it[pos:], s)
	it[pos+uint32(len(s))] = 0
	return pos + uint32(len(s)) + 1
}

func (s *itemSpec) write(it []byte) {
	copy(it, s.fixed[:s.fixedLen])
	pos := s.fixedLen
	for i := 0; i < s.nstrings; i++ {
		le.PutUint32(it[s.pairAt[i]:], pos)
		le.PutUint32(it[s.pairAt[i]+4:], uint32(len(s.strings[i])))
		pos = putString(it, pos, s.strings[i])
	}
	le.PutUint16(it[s.labelCountAt:], s.labelCount)
	if s.labelCount == 0 {
		return
	}
	table := uint32(align8(uint64(pos)))
	for i := pos; i < table; i++ {
		it[i] = 0
	}
	pos = table + uint32(s.labelCount)*LookupLabelEntrySize
	for j := 0; j < int(s.labelCount); j++ {
		e := it[table+uint32(j)*LookupLabelEntrySize:]
		l := s.label(j)
		le.PutUint32(e, pos)
		le.PutUint32(e[4:], uint32(len(l.Key)))
		pos = putString(it, pos, l.Key)
		le.PutUint32(e[8:], pos)
		le.PutUint32(e[12:], uint32(len(l.Value)))
		pos = putString(it, pos, l.Value)
	}
}

// builderCore is shared by both lookup response builders.
type builderCore struct {
	buf       []byte
	itemCount uint32
	added     uint32
	packed    uint64 // end of the last item, relative to the packed area
	suffix    uint64 // reply: bytes of minimal items for keys added .. N-1
	minTotal  uint64 // reply: smallest response the policy can produce
	reply     bool
	exceeded  bool
	err       error
}

func (c *builderCore) init(buf []byte, n uint32, generation uint64) {
	*c = builderCore{buf: buf, itemCount: n}
	start := lookupPackedStart(n)
	switch {
	case start > maxU32:
		c.err = netipc.ErrSizeOverflow
	case start > uint64(len(buf)):
		c.err = netipc.ErrBufferTooSmall
	default:
		le.PutUint16(buf, 1)
		le.PutUint16(buf[2:], 0)
		le.PutUint32(buf[4:], n)
		le.PutUint64(buf[8:], generation)
	}
}

func (c *builderCore) initReply(buf []byte, n uint32, generation, suffix0 uint64) {
	c.init(buf, n, generation)
	c.reply = true
	c.suffix = suffix0
	c.minTotal = lookupPackedStart(n) + suffix0
	if c.err == nil && c.minTotal > uint64(len(buf)) {
		c.err = netipc.ErrBufferTooSmall
	}
}

func (c *builderCore) setGeneration(g uint64) {
	if lookupPackedStart(c.itemCount) <= uint64(len(c.buf)) {
		le.PutUint64(c.buf[8:], g)
	}
}

func (c *builderCore) fail(err error) error { c.err = err; return err }

func (c *builderCore) canAdd() error {
	if c.err != nil && (c.reply || c.err != netipc.ErrBufferTooSmall) {
		return c.err
	}
	if c.added >= c.itemCount {
		if c.reply {
			return c.fail(netipc.ErrBufferTooSmall)
		}
		return c.fail(netipc.ErrBadItemCount)
	}
	return nil
}

func (c *builderCore) nextOffset() uint64 {
	if c.added > 0 {
		return align8(c.packed)
	}
	return 0
}

func (c *builderCore) suffixSlot(keyMin uint64) uint64 {
	if c.added+1 < c.itemCount {
		return align8(keyMin)
	}
	return keyMin
}

func (c *builderCore) fits(n, keyMin uint64) bool {
	end := lookupPackedStart(c.itemCount) + c.nextOffset() + n
	if end > uint64(len(c.buf)) {
		return false
	}
	if c.added+1 == c.itemCount {
		return true // the last item: no tail, no padding after it
	}
	rest := c.suffix - c.suffixSlot(keyMin)
	return align8(end)+rest <= uint64(len(c.buf))
}

func (c *builderCore) appendItem(s *itemSpec, n, keyMin uint64) error {
	start := lookupPackedStart(c.itemCount)
	off := c.nextOffset()
	end := off + n
	if start+end > maxU32 {
		return c.fail(netipc.ErrSizeOverflow)
	}
	if c.err == nil && start+end <= uint64(len(c.buf)) {
		packed := c.buf[start:]
		for i := c.packed; i < off; i++ {
			packed[i] = 0
		}
		e := c.buf[LookupHeaderSize+uint64(c.added)*8:]
		le.PutUint32(e, uint32(off))
		le.PutUint32(e[4:], uint32(n))
		s.write(packed[off:end])
	} else {
		c.err = netipc.ErrBufferTooSmall
	}
	if c.reply {
		c.suffix -= c.suffixSlot(keyMin)
	}
	c.packed = end
	c.added++
	return c.err
}

func (c *builderCore) finish() (int, error) {
	if c.reply && c.err == netipc.ErrBufferTooSmall {
		return int(c.minTotal), c.err
	}
	if c.err != nil && c.err != netipc.ErrBufferTooSmall {
		return 0, c.err
	}
	if c.added != c.itemCount {
		return 0, c.fail(netipc.ErrBadItemCount)
	}
	total := lookupPackedStart(c.itemCount) + c.packed
	if total > uint64(len(c.buf)) {
		return int(total), c.fail(netipc.ErrBufferTooSmall)
	}
	return int(total), nil
}

// Used returns the bytes a stitched response occupies so far including the
// padding before the next item (Level 2 sizes its buffer with it).
func (c *builderCore) used() uint64 {
	return lookupPackedStart(c.itemCount) + c.nextOffset()
}
