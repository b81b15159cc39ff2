"""An attachment's file lives as long as its row.

- Written inside the transaction that saves the row (store_file), and deleted again if that
  transaction rolls back (deleted_on_rollback: Django has no on_rollback hook, so the service
  wraps its atomic block). A write that fails half-way (a full disk) leaves nothing behind.
- Deleted once the transaction that deletes the row commits (attachment_deleted, connected in
  TicketsConfig.ready): a deleted ticket takes its attachments' files with it, and a delete
  that rolls back keeps the file its row still points to.
- What escapes both (a process killed between the write and the commit, rows removed with
  raw SQL) is listed, and removed, by `manage.py orphan_files`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext as _

from tickets.models import Attachment, private_storage

logger = logging.getLogger(__name__)

ATTACHMENTS_DIR = "attachments"  # tickets.models.attachment_path writes here

# The files stored inside the innermost deleted_on_rollback() block, None outside any.
_stored: ContextVar[list[tuple[Storage, str]] | None] = ContextVar("tickets_stored", default=None)


class FileStoreError(ValidationError):
    """A file could not be written (a full disk, a failing volume). It is a ValidationError
    so that a view can show it next to the form's file field instead of answering 500."""


def _delete(storage: Storage, name: str) -> None:
    try:
        storage.delete(name)
    except OSError:
        # Left for `manage.py orphan_files`; a failed clean-up must not fail the request.
        logger.exception("could not delete the file %s", name)


def store_file(file: FieldFile, filename: str, content: bytes) -> None:
    """Write `content` as `file` (its field's upload_to names it), as `file.save(filename,
    ContentFile(content), save=False)` does; the row is saved by the caller. Inside
    deleted_on_rollback(), the file is deleted again if the block fails. A failed write
    leaves no partial file and raises FileStoreError."""
    storage = file.storage
    name = file.field.generate_filename(file.instance, filename)
    existed = storage.exists(name)  # then the storage writes elsewhere: not ours to delete
    try:
        stored = storage.save(name, ContentFile(content), max_length=file.field.max_length)
    except OSError as error:
        logger.error("could not store the file %s: %s", name, error)
        if not existed:
            _delete(storage, name)
        raise FileStoreError(
            _(
                "We could not store your files just now. Please try again in a few minutes, "
                "or send your message without them."
            ),
            code="not_stored",
        ) from error
    # What FieldFile.save does: the instance now names a file that is already written.
    setattr(file.instance, file.field.attname, stored)
    written = _stored.get()
    if written is not None:
        written.append((storage, stored))


@contextmanager
def deleted_on_rollback() -> Iterator[None]:
    """Files stored with store_file() inside the block are deleted if the block raises. Put it
    outside the atomic block, so that a failed commit counts too:

        with deleted_on_rollback(), transaction.atomic():
            ...

    Nested blocks: a failing inner block deletes its own files; a succeeding one hands them
    to the enclosing block, which may still roll back."""
    enclosing = _stored.get()
    written: list[tuple[Storage, str]] = []
    token = _stored.set(written)
    try:
        yield
    except BaseException:
        for storage, name in written:
            _delete(storage, name)
        raise
    else:
        if enclosing is not None:
            enclosing.extend(written)
    finally:
        _stored.reset(token)


def attachment_deleted(
    sender: type[Attachment], instance: Attachment, using: str, **kwargs: Any
) -> None:
    """post_delete of Attachment (also when its ticket or message is deleted): the file goes
    once the deletion commits. Only then: a rolled-back delete keeps its row, and the file."""
    if instance.file.name:
        transaction.on_commit(
            partial(_delete, instance.file.storage, instance.file.name),
            using=using,
            robust=True,  # the row is gone whatever happens to the file
        )


def delete_file_on_commit(file: FieldFile) -> None:
    """The file goes once the current transaction commits (its row stops naming it in the same
    transaction: services.attachments_delete_expired); a rollback keeps both."""
    if file.name:
        transaction.on_commit(partial(_delete, file.storage, file.name), robust=True)


@dataclass(frozen=True)
class OrphanFile:
    name: str  # relative to the storage, as Attachment.file holds it
    size: int


def _files_under(directory: Path, written_before: float) -> Iterator[tuple[str, int]]:
    root = Path(private_storage.location)
    for folder, _subfolders, names in os.walk(directory):  # symbolic links are not followed
        for file_name in names:
            path = Path(folder, file_name)
            if path.is_symlink() or not path.is_file():
                continue
            stat = path.stat()
            if stat.st_mtime < written_before:
                yield path.relative_to(root).as_posix(), stat.st_size


def orphan_files(*, older_than: timedelta, batch_size: int = 500) -> list[OrphanFile]:
    """Files under PRIVATE_MEDIA_ROOT/attachments that no Attachment row names, last written
    at least `older_than` ago (a younger one may belong to a transaction still open)."""
    directory = Path(private_storage.path(ATTACHMENTS_DIR))
    found = list(_files_under(directory, time.time() - older_than.total_seconds()))
    orphans: list[OrphanFile] = []
    for start in range(0, len(found), batch_size):
        batch = dict(found[start : start + batch_size])
        named = set(Attachment.objects.filter(file__in=batch).values_list("file", flat=True))
        orphans.extend(OrphanFile(name, size) for name, size in batch.items() if name not in named)
    return sorted(orphans, key=lambda orphan: orphan.name)


def orphan_files_delete(orphans: list[OrphanFile]) -> None:
    for orphan in orphans:
        private_storage.delete(orphan.name)
