// The API's result types (api/tandem-api.json, "types"), each field named as
// described in camelCase; a test holds them together. Types the description
// gives for a one-field result (PeerAddress, SyncToken, Done, Reverted,
// Empty) come back as that field's plain value.
package dev.tandem

import org.json.JSONArray
import org.json.JSONObject

data class AttachedPeer(
    val deviceId: String, val address: String, val indexReceived: Boolean,
    val recordsSent: Long, val recordsTotal: Long,
) {
    internal companion object {
        fun of(j: JSONObject) = AttachedPeer(
            j.getString("device_id"), j.getString("address"), j.getBoolean("index_received"),
            j.getLong("records_sent"), j.getLong("records_total"),
        )
    }
}

data class LocalChange(val path: String, val change: String, val kind: String) {
    internal companion object {
        fun of(j: JSONObject) = LocalChange(j.getString("path"), j.getString("change"), j.getString("kind"))
    }
}

data class LocalChanges(val count: Long, val paths: List<LocalChange>) {
    internal companion object {
        fun of(j: JSONObject) = LocalChanges(j.getLong("count"), j.getJSONArray("paths").objects(LocalChange::of))
    }
}

data class FailedPath(val path: String, val reason: String) {
    internal companion object {
        fun of(j: JSONObject) = FailedPath(j.getString("path"), j.getString("reason"))
    }
}

data class IndexSummary(
    val files: Long, val directories: Long, val symlinks: Long, val bytes: Long,
    val records: Long, val sequence: Long, val sealedBlocks: Long, val sealedBytes: Long,
) {
    internal companion object {
        fun of(j: JSONObject) = IndexSummary(
            j.getLong("files"), j.getLong("directories"), j.getLong("symlinks"), j.getLong("bytes"),
            j.getLong("records"), j.getLong("sequence"), j.getLong("sealed_blocks"), j.getLong("sealed_bytes"),
        )
    }
}

data class ScanStats(
    val entriesSeen: Long, val filesHashed: Long, val bytesHashed: Long, val recordsWritten: Long,
    val deleted: Long, val skipped: Long, val durationMs: Long,
    /** Unix seconds; in ShareInfo.lastScan only. */
    val time: Long?,
) {
    internal companion object {
        fun of(j: JSONObject) = ScanStats(
            j.getLong("entries_seen"), j.getLong("files_hashed"), j.getLong("bytes_hashed"),
            j.getLong("records_written"), j.getLong("deleted"), j.getLong("skipped"), j.getLong("duration_ms"),
            if (j.has("time") && !j.isNull("time")) j.getLong("time") else null,
        )
    }
}

data class ShareInfo(
    val id: String, val name: String, val path: String,
    /** write, read or blind */
    val mode: String,
    val enabled: Boolean,
    /** idle, scanning, syncing, waiting for peers, paused, error */
    val state: String,
    val stateReason: String,
    /** Percent held here; null until a peer has sent its whole index. */
    val completion: Double?,
    val lastError: String,
    val peers: List<String>, val connectedDevices: List<String>,
    val needFiles: Long, val needBytes: Long, val needDeletes: Long,
    val receivedBytes: Long, val sentBytes: Long, val downloadRate: Long, val uploadRate: Long,
    val lastInSync: Long,
    val attachedPeers: List<AttachedPeer>,
    val localChanges: LocalChanges,
    val failed: List<FailedPath>,
    val skipped: List<String>,
    /** Ignored paths the scans met; a folder ignored whole counts once. */
    val ignored: Long,
    /** Why .tandemignore is not in force as written; empty when it is. */
    val ignoreError: String,
    val versioning: Versioning,
    /** Bytes a second; 0: none. */
    val uploadLimit: Long, val downloadLimit: Long,
    /** Announced on the local network. */
    val discovery: Boolean,
    val index: IndexSummary,
    val lastScan: ScanStats,
) {
    internal companion object {
        fun of(j: JSONObject) = ShareInfo(
            j.getString("id"), j.getString("name"), j.getString("path"), j.getString("mode"),
            j.getBoolean("enabled"), j.getString("state"), j.getString("state_reason"),
            if (j.isNull("completion")) null else j.getDouble("completion"),
            j.getString("last_error"), j.getJSONArray("peers").strings(),
            j.getJSONArray("connected_devices").strings(),
            j.getLong("need_files"), j.getLong("need_bytes"), j.getLong("need_deletes"),
            j.getLong("received_bytes"), j.getLong("sent_bytes"), j.getLong("download_rate"),
            j.getLong("upload_rate"), j.getLong("last_in_sync"),
            j.getJSONArray("attached_peers").objects(AttachedPeer::of),
            LocalChanges.of(j.getJSONObject("local_changes")),
            j.getJSONArray("failed").objects(FailedPath::of), j.getJSONArray("skipped").strings(),
            j.getLong("ignored"), j.getString("ignore_error"), Versioning.of(j.getJSONObject("versioning")),
            j.getLong("upload_limit"), j.getLong("download_limit"), j.getBoolean("discovery"),
            IndexSummary.of(j.getJSONObject("index")), ScanStats.of(j.getJSONObject("last_scan")),
        )
    }
}

data class PeerInfo(
    val address: String, val state: String, val connected: Boolean, val deviceId: String,
    val share: AttachedPeer?,
    /** Found by LAN discovery, not configured; [lastSeen]: when its beacon was last heard (Unix seconds). */
    val discovered: Boolean, val lastSeen: Long,
) {
    internal companion object {
        fun of(j: JSONObject) = PeerInfo(
            j.getString("address"), j.getString("state"), j.getBoolean("connected"), j.getString("device_id"),
            if (j.isNull("share")) null else AttachedPeer.of(j.getJSONObject("share")),
            j.getBoolean("discovered"), j.getLong("last_seen"),
        )
    }
}

data class ConflictSide(val device: String, val mtimeNs: Long, val size: Long, val present: Boolean) {
    internal companion object {
        fun of(j: JSONObject) =
            ConflictSide(j.getString("device"), j.getLong("mtime_ns"), j.getLong("size"), j.getBoolean("present"))
    }
}

data class Conflict(val conflict: String, val path: String, val local: ConflictSide, val remote: ConflictSide) {
    internal companion object {
        fun of(j: JSONObject) = Conflict(
            j.getString("conflict"), j.getString("path"),
            ConflictSide.of(j.getJSONObject("local")), ConflictSide.of(j.getJSONObject("remote")),
        )
    }
}

data class Versioning(
    /** none, trashcan, simple or staggered */
    val type: String,
    /** 0: kept for ever */
    val days: Long, val keep: Long, val maxBytes: Long, val description: String,
) {
    internal companion object {
        fun of(j: JSONObject) = Versioning(
            j.getString("type"), j.getLong("days"), j.getLong("keep"), j.getLong("max_bytes"), j.getString("description"),
        )
    }
}

data class Version(
    val path: String,
    /** The version's name in .tandem/versions. */
    val file: String,
    /** When it was kept, Unix seconds. */
    val time: Long, val size: Long,
    /** Whose change replaced or deleted it. */
    val device: String,
) {
    internal companion object {
        fun of(j: JSONObject) = Version(
            j.getString("path"), j.getString("file"), j.getLong("time"), j.getLong("size"), j.getString("device"),
        )
    }
}

data class IgnoreLine(val file: String, val line: Long, val text: String) {
    internal companion object {
        fun of(j: JSONObject) = IgnoreLine(j.getString("file"), j.getLong("line"), j.getString("text"))
    }
}

data class IgnoreCheck(
    val path: String, val ignored: Boolean,
    /** (?d): may go with a folder a peer deleted. */
    val deletable: Boolean,
    /** The pattern that decided; null when none matched. */
    val line: IgnoreLine?,
    /** "ignored by .tandemignore:3: build/" */
    val why: String,
) {
    internal companion object {
        fun of(j: JSONObject) = IgnoreCheck(
            j.getString("path"), j.getBoolean("ignored"), j.getBoolean("deletable"),
            if (j.isNull("line")) null else IgnoreLine.of(j.getJSONObject("line")), j.getString("why"),
        )
    }
}

data class IgnorePatterns(
    /** .tandemignore as it is on disk. */
    val text: String, val exists: Boolean,
    /** The files the patterns in force come from. */
    val files: List<String>,
    /** Why the file on disk is not in force; empty when it is. */
    val error: String,
    val ignored: Long,
) {
    internal companion object {
        fun of(j: JSONObject) = IgnorePatterns(
            j.getString("text"), j.getBoolean("exists"), j.getJSONArray("files").strings(), j.getString("error"),
            j.getLong("ignored"),
        )
    }
}

data class DeviceInfo(
    val deviceId: String, val deviceName: String, val listen: String, val configDir: String,
    val listeningPort: Long, val lastEventId: Long,
    val limits: Limits,
    /** Bytes a second, all shares together. */
    val uploadRate: Long, val downloadRate: Long,
) {
    internal companion object {
        fun of(j: JSONObject) = DeviceInfo(
            j.getString("device_id"), j.getString("device_name"), j.getString("listen"),
            j.getString("config_dir"), j.getLong("listening_port"), j.getLong("last_event_id"),
            Limits.of(j.getJSONObject("limits")), j.getLong("upload_rate"), j.getLong("download_rate"),
        )
    }
}

/** Bytes a second, 0: none; [lan] is the device's: whether limits also hold for peers on the local network. */
data class Limits(val upload: Long, val download: Long, val lan: Boolean) {
    internal companion object {
        fun of(j: JSONObject) = Limits(j.getLong("upload"), j.getLong("download"), j.getBoolean("lan"))
    }
}

data class GuiLogin(
    val url: String,
    /** Works once, for 10 minutes. */
    val loginUrl: String,
    /** For scripts: the X-API-Key header. */
    val apiKey: String,
    /** Whether a password is set. */
    val password: Boolean,
) {
    internal companion object {
        fun of(j: JSONObject) = GuiLogin(
            j.getString("url"), j.getString("login_url"), j.getString("api_key"), j.getBoolean("password"),
        )
    }
}

data class Event(
    val id: Long,
    /** RFC 3339, UTC */
    val time: String,
    val type: String,
    /** The share's id; null for none. */
    val share: String?,
    /** The type's own fields (docs/events.md). */
    val data: JSONObject,
) {
    internal companion object {
        fun of(j: JSONObject) = Event(
            j.getLong("id"), j.getString("time"), j.getString("type"),
            if (j.has("share")) j.getString("share") else null, j.getJSONObject("data"),
        )
    }
}

data class EventPage(val events: List<Event>, val lastId: Long, val missed: Long) {
    internal companion object {
        fun of(j: JSONObject) =
            EventPage(j.getJSONArray("events").objects(Event::of), j.getLong("last_id"), j.getLong("missed"))
    }
}

internal fun <T> JSONArray.objects(of: (JSONObject) -> T): List<T> = (0 until length()).map { of(getJSONObject(it)) }

internal fun JSONArray.strings(): List<String> = (0 until length()).map { getString(it) }
