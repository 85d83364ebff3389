package oci

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/drover-io/drover/runtime"
)

// maxIdentityFile bounds what is read of a container's /etc/passwd or
// /etc/group (an image is untrusted).
const maxIdentityFile = 4 << 20

// readInRoot reads the file at name (relative to root) as a process
// chrooted at root would: symlinks and ".." resolve inside root, never
// to the host. A missing file is (nil, nil).
func readInRoot(root, name string) ([]byte, error) {
	dir, err := os.Open(root)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	fd, err := unix.Openat2(int(dir.Fd()), name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s in the root filesystem: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s in the root filesystem is not a regular file", name)
	}
	return io.ReadAll(io.LimitReader(f, maxIdentityFile))
}

// passwdEntry is a line of /etc/passwd.
type passwdEntry struct {
	name     string
	uid, gid uint32
}

// groupEntry is a line of /etc/group.
type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

func parsePasswd(data []byte) []passwdEntry {
	var out []passwdEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxIdentityFile)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, passwdEntry{name: f[0], uid: uint32(uid), gid: uint32(gid)})
	}
	return out
}

func parseGroup(data []byte) []groupEntry {
	var out []groupEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxIdentityFile)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		g := groupEntry{name: f[0], gid: uint32(gid)}
		if len(f) > 3 && f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		out = append(out, g)
	}
	return out
}

// resolveUser returns the identity a container's process runs as: the
// security config's UID and GID when set, else the image's user ("uid",
// "uid:gid", "name" or "name:group", names looked up in the root
// filesystem's /etc/passwd and /etc/group), else root. A user given by
// UID alone gets the primary group /etc/passwd gives that UID (0 when
// none). Supplemental groups are the groups /etc/group lists the user
// in, then sec.SupplementalGroups.
func resolveUser(rootfs, imageUser string, sec runtime.SecurityConfig) (specs.User, error) {
	db, err := loadUserDB(rootfs)
	if err != nil {
		return specs.User{}, err
	}
	return db.resolve(imageUser, sec)
}

// userDB is a root filesystem's /etc/passwd and /etc/group, parsed.
type userDB struct {
	passwd []passwdEntry
	groups []groupEntry
}

// loadUserDB reads the user database of the root filesystem rootfs.
func loadUserDB(rootfs string) (*userDB, error) {
	passwdData, err := readInRoot(rootfs, "etc/passwd")
	if err != nil {
		return nil, err
	}
	groupData, err := readInRoot(rootfs, "etc/group")
	if err != nil {
		return nil, err
	}
	return &userDB{passwd: parsePasswd(passwdData), groups: parseGroup(groupData)}, nil
}

// resolve is resolveUser on the user database db.
func (db *userDB) resolve(imageUser string, sec runtime.SecurityConfig) (specs.User, error) {
	passwd, groups := db.passwd, db.groups

	var u specs.User
	userName := ""
	gidSet := false
	userPart, groupPart, hasGroup := strings.Cut(imageUser, ":")
	if sec.UID != nil {
		if *sec.UID < 0 || *sec.UID > 1<<32-2 {
			return u, fmt.Errorf("Security.UID %d: want 0 to 4294967294", *sec.UID)
		}
		u.UID = uint32(*sec.UID)
		hasGroup = false
	} else if userPart != "" {
		if n, err := strconv.ParseUint(userPart, 10, 32); err == nil {
			u.UID = uint32(n)
		} else {
			i := slices.IndexFunc(passwd, func(p passwdEntry) bool { return p.name == userPart })
			if i < 0 {
				return u, fmt.Errorf("image user %q: no user %q in the image's /etc/passwd", imageUser, userPart)
			}
			u.UID, u.GID, userName, gidSet = passwd[i].uid, passwd[i].gid, passwd[i].name, true
		}
	}
	if userName == "" {
		if i := slices.IndexFunc(passwd, func(p passwdEntry) bool { return p.uid == u.UID }); i >= 0 {
			userName = passwd[i].name
			if !gidSet {
				u.GID, gidSet = passwd[i].gid, true
			}
		}
	}
	if hasGroup && groupPart != "" {
		if n, err := strconv.ParseUint(groupPart, 10, 32); err == nil {
			u.GID = uint32(n)
		} else {
			i := slices.IndexFunc(groups, func(g groupEntry) bool { return g.name == groupPart })
			if i < 0 {
				return u, fmt.Errorf("image user %q: no group %q in the image's /etc/group", imageUser, groupPart)
			}
			u.GID = groups[i].gid
		}
	}
	if sec.GID != nil {
		if *sec.GID < 0 || *sec.GID > 1<<32-2 {
			return u, fmt.Errorf("Security.GID %d: want 0 to 4294967294", *sec.GID)
		}
		u.GID = uint32(*sec.GID)
	}
	add := func(gid uint32) {
		if gid != u.GID && !slices.Contains(u.AdditionalGids, gid) {
			u.AdditionalGids = append(u.AdditionalGids, gid)
		}
	}
	if userName != "" {
		for _, g := range groups {
			if slices.Contains(g.members, userName) {
				add(g.gid)
			}
		}
	}
	for i, g := range sec.SupplementalGroups {
		if g < 0 || g > 1<<32-2 {
			return u, fmt.Errorf("Security.SupplementalGroups[%d] %d: want 0 to 4294967294", i, g)
		}
		add(uint32(g))
	}
	return u, nil
}
