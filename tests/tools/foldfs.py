#!/usr/bin/python3
"""A folder seen as macOS or Windows see names, for tests on Linux.

    foldfs.py BACKING MOUNTPOINT

Mounts BACKING at MOUNTPOINT (FUSE, in the foreground until unmounted) with
names that ignore case and Unicode normalisation: a name finds the entry in
its folder that differs from it only in those, and a new name keeps the
spelling it was created with. Two names that differ only so are one file,
as on APFS, NTFS or ext4 with casefold. The kernel of the test machines has
none of those (no CONFIG_UNICODE, no vfat), and the one FUSE vfat in Debian
cannot hold an SQLite database, so the tests bring their own.

Everything else is passed through to BACKING as it is.
"""
import errno
import os
import sys
import unicodedata

from fusepy import FUSE, FuseOSError, Operations


def fold(name):
    return unicodedata.normalize("NFC", name).casefold()


class FoldingFolder(Operations):
    def __init__(self, backing):
        self.backing = os.path.realpath(backing)

    def _real(self, path):
        """The backing path of `path`, each component matched as the folded name."""
        real = self.backing
        for part in [p for p in path.split("/") if p]:
            candidate = os.path.join(real, part)
            if not os.path.lexists(candidate):
                wanted = fold(part)
                try:
                    for name in os.listdir(real):
                        if fold(name) == wanted:
                            candidate = os.path.join(real, name)
                            break
                except (FileNotFoundError, NotADirectoryError):
                    pass
            real = candidate
        return real

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except OSError as e:
            raise FuseOSError(e.errno or errno.EIO)

    # Metadata.
    def getattr(self, path, fh=None):
        st = self._call(os.lstat, self._real(path))
        keys = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_ino",
                "st_atime", "st_mtime", "st_ctime")
        attrs = {k: getattr(st, k) for k in keys}
        attrs.update(st_atime=st.st_atime_ns / 1e9, st_mtime=st.st_mtime_ns / 1e9,
                     st_ctime=st.st_ctime_ns / 1e9)
        return attrs

    def readdir(self, path, fh):
        return [".", ".."] + self._call(os.listdir, self._real(path))

    def readlink(self, path):
        return self._call(os.readlink, self._real(path))

    def chmod(self, path, mode):
        return self._call(os.chmod, self._real(path), mode)

    def chown(self, path, uid, gid):
        return self._call(os.lchown, self._real(path), uid, gid)

    def utimens(self, path, times=None):
        if times is None:
            return self._call(os.utime, self._real(path), None, follow_symlinks=False)
        ns = tuple(int(t * 1e9) for t in times)
        return self._call(lambda: os.utime(self._real(path), ns=ns, follow_symlinks=False))

    def statfs(self, path):
        st = self._call(os.statvfs, self._real(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
                "f_files", "f_flag", "f_frsize", "f_namemax")
        return {k: getattr(st, k) for k in keys}

    def access(self, path, amode):
        if not os.access(self._real(path), amode, follow_symlinks=False):
            raise FuseOSError(errno.EACCES)

    # Names.
    def mkdir(self, path, mode):
        return self._call(os.mkdir, self._real(path), mode)

    def rmdir(self, path):
        return self._call(os.rmdir, self._real(path))

    def unlink(self, path):
        return self._call(os.unlink, self._real(path))

    def symlink(self, target, source):
        return self._call(os.symlink, source, self._real(target))

    def link(self, target, source):
        return self._call(os.link, self._real(source), self._real(target))

    def rename(self, old, new):
        return self._call(os.rename, self._real(old), self._real(new))

    def mknod(self, path, mode, dev):
        return self._call(os.mknod, self._real(path), mode, dev)

    # Contents.
    def open(self, path, flags):
        return self._call(os.open, self._real(path), flags)

    def create(self, path, mode, fi=None):
        return self._call(os.open, self._real(path), os.O_RDWR | os.O_CREAT, mode)

    def read(self, path, size, offset, fh):
        return self._call(os.pread, fh, size, offset)

    def write(self, path, data, offset, fh):
        return self._call(os.pwrite, fh, data, offset)

    def truncate(self, path, length, fh=None):
        if fh is not None:
            return self._call(os.ftruncate, fh, length)
        return self._call(os.truncate, self._real(path), length)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        return self._call(os.fdatasync if datasync else os.fsync, fh)

    def release(self, path, fh):
        return self._call(os.close, fh)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    FUSE(FoldingFolder(sys.argv[1]), sys.argv[2], foreground=True, nothreads=True,
         use_ino=True, allow_other=False, default_permissions=False)


if __name__ == "__main__":
    main()
