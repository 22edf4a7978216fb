// The Tandem service embedded in this JVM (libtandem, through JNA). Every
// method of api/tandem-api.json is a suspend function here, named in
// camelCase with the same parameters; a test holds them together.
package dev.tandem

import com.sun.jna.Pointer
import com.sun.jna.ptr.PointerByReference
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.ensureActive
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.flowOn
import org.json.JSONArray
import org.json.JSONObject
import org.json.JSONTokener
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException

/**
 * A Tandem service running inside this process, on threads of its own.
 * Open one per config folder; several side by side sync with each other
 * like separate devices. [close] stops it: running transfers stop at a
 * consistent point and resume on the next open.
 *
 * Calls may come from any thread or coroutine; each suspends while the
 * service works, holding no thread (the event flow polls on [Dispatchers.IO]).
 */
class TandemService private constructor(
    private val handle: Pointer,
    private val logCallback: TandemLibrary.LogCallback?,
) : AutoCloseable {
    init {
        // The library calls it from its threads until close: kept reachable
        // even if this object is dropped without close().
        logCallback?.let { synchronized(liveCallbacks) { liveCallbacks += it } }
    }

    private val lock = Object()
    private var closed = false
    private var calls = 0 // threads inside a call into the library

    companion object {
        private val liveCallbacks = mutableSetOf<TandemLibrary.LogCallback>()

        // Calls in flight through tandem_call_async, by the id passed as their context.
        private val nextCall = AtomicLong()
        private val waiting = ConcurrentHashMap<Long, CancellableContinuation<Any>>()

        // One callback for every async call, never collected; runs on the
        // service's loop thread (or the one stopping it) and only resumes.
        private val onDone = TandemLibrary.DoneCallback { context, status, json, length ->
            val continuation = waiting.remove(Pointer.nativeValue(context)) ?: return@DoneCallback
            val text = String(json.getByteArray(0, length.toInt()), Charsets.UTF_8)
            if (status == 0) {
                continuation.resume(runCatching { JSONTokener(text).nextValue() }.getOrElse { text })
            } else {
                continuation.resumeWithException(errorFor(status, text))
            }
        }

        /**
         * Opens (creating when missing) the service of [configDir], an absolute path.
         * [listen]: "tcp/HOST:PORT" for peers (port 0: any free one; [deviceInfo] tells which).
         * [controlSocket]: also serve <configDir>/tandem.sock for the tandem CLI.
         * [log]: (level 0..4, line), called on the service's threads; null: stderr.
         * [tuneAllocator]: set glibc's malloc thresholds for Tandem's blocks, process-wide.
         * [gui]: serve the web UI on "HOST:PORT" (port 0: any free one; [guiLogin] tells which).
         * Blocks while the config and the repositories open.
         */
        fun open(
            configDir: String,
            listen: String? = null,
            logLevel: String = "warn",
            eventsKept: Int? = null,
            controlSocket: Boolean = false,
            log: ((Int, String) -> Unit)? = null,
            tuneAllocator: Boolean = false,
            gui: String? = null,
        ): TandemService {
            val options = JSONObject().put("log_level", logLevel).put("control_socket", controlSocket)
                .put("tune_allocator", tuneAllocator)
            listen?.let { options.put("listen", it) }
            eventsKept?.let { options.put("events_kept", it) }
            gui?.let { options.put("gui", it) }
            val callback = log?.let { sink ->
                TandemLibrary.LogCallback { _, level, line, length ->
                    runCatching { sink(level, String(line.getByteArray(0, length.toInt()), Charsets.UTF_8)) }
                }
            }
            val out = PointerByReference()
            val error = PointerByReference()
            val lib = NativeTandem.lib
            val status = lib.tandem_service_open(configDir, options.toString(), callback, null, out, error)
            if (status != 0) throw errorFor(status, NativeTandem.take(error))
            return TandemService(out.value, callback)
        }
    }

    /** Calls [method] with [params] and returns its JSON result, blocking this thread. */
    fun callBlocking(method: String, params: JSONObject = JSONObject()): Any {
        synchronized(lock) {
            if (closed) throw ClosedException("the service is closed")
            calls++
        }
        try {
            val result = PointerByReference()
            val error = PointerByReference()
            val status = NativeTandem.lib.tandem_call(handle, method, params.toString(), result, error)
            if (status != 0) throw errorFor(status, NativeTandem.take(error))
            return JSONTokener(NativeTandem.take(result)).nextValue()
        } finally {
            synchronized(lock) {
                calls--
                (lock as Object).notifyAll()
            }
        }
    }

    /**
     * Calls [method] with [params]; suspends until its JSON result, holding no
     * thread meanwhile (tandem_call_async). Cancelling the coroutine resumes it
     * at once; the call itself runs to its end in the service, its result dropped.
     */
    suspend fun call(method: String, params: JSONObject = JSONObject()): Any =
        suspendCancellableCoroutine { continuation ->
            val id = nextCall.incrementAndGet()
            waiting[id] = continuation
            continuation.invokeOnCancellation { waiting.remove(id) }
            val status = synchronized(lock) {
                if (closed) {
                    -1
                } else {
                    NativeTandem.lib.tandem_call_async(handle, method, params.toString(), onDone, Pointer(id))
                }
            }
            if (status != 0) {
                waiting.remove(id)
                continuation.resumeWithException(
                    if (status == -1) ClosedException("the service is closed") else errorFor(status, "the call was refused"),
                )
            }
        }

    private suspend fun obj(method: String, vararg params: Pair<String, Any?>) = call(method, json(*params)) as JSONObject
    private suspend fun list(method: String, vararg params: Pair<String, Any?>) = call(method, json(*params)) as JSONArray

    suspend fun shareAdd(path: String, name: String? = null): ShareInfo =
        ShareInfo.of(obj("share_add", "path" to path, "name" to name))

    suspend fun shareImportFromToken(token: String, path: String, name: String? = null): ShareInfo =
        ShareInfo.of(obj("share_import_from_token", "token" to token, "path" to path, "name" to name))

    suspend fun shareRemove(share: String, deleteRepo: Boolean? = null) {
        obj("share_remove", "share" to share, "delete_repo" to deleteRepo)
    }

    suspend fun shareList(): List<ShareInfo> = list("share_list").objects(ShareInfo::of)

    suspend fun shareGetInfo(share: String): ShareInfo = ShareInfo.of(obj("share_get_info", "share" to share))

    /** Adds tcp/HOST:PORT as a peer of the share; returns it in normal form. */
    suspend fun shareAddPeer(share: String, address: String): String =
        obj("share_add_peer", "share" to share, "address" to address).getString("address")

    suspend fun shareRemovePeer(share: String, address: String) {
        obj("share_remove_peer", "share" to share, "address" to address)
    }

    suspend fun shareListPeers(share: String): List<PeerInfo> =
        list("share_list_peers", "share" to share).objects(PeerInfo::of)

    suspend fun shareSetSyncEnabled(share: String, enabled: Boolean) {
        obj("share_set_sync_enabled", "share" to share, "enabled" to enabled)
    }

    /** LAN discovery for the share: announced on the local network, and peers holding it found there. */
    suspend fun shareSetDiscovery(share: String, enabled: Boolean) {
        obj("share_set_discovery", "share" to share, "enabled" to enabled)
    }

    /** A token granting "write" (default), "read" or "blind" access. */
    suspend fun shareGetSyncToken(share: String, mode: String? = null): String =
        obj("share_get_sync_token", "share" to share, "mode" to mode).getString("token")

    suspend fun shareRescan(share: String): ScanStats = ScanStats.of(obj("share_rescan", "share" to share))

    suspend fun shareListConflicts(share: String): List<Conflict> =
        list("share_list_conflicts", "share" to share).objects(Conflict::of)

    /** [keep]: keep_local, keep_remote or keep_both; returns what was done. */
    suspend fun shareResolveConflict(share: String, conflict: String, keep: String): String =
        obj("share_resolve_conflict", "share" to share, "conflict" to conflict, "keep" to keep).getString("done")

    suspend fun shareRepair(share: String, force: Boolean? = null): String =
        obj("share_repair", "share" to share, "force" to force).getString("done")

    suspend fun shareRevertLocalChanges(share: String, path: String? = null): Long =
        obj("share_revert_local_changes", "share" to share, "path" to path).getLong("reverted")

    /** Whether [path] is ignored here, and by which line of which pattern file. */
    suspend fun shareCheckIgnored(share: String, path: String): IgnoreCheck =
        IgnoreCheck.of(obj("share_check_ignored", "share" to share, "path" to path))

    suspend fun shareGetIgnorePatterns(share: String): IgnorePatterns =
        IgnorePatterns.of(obj("share_get_ignore_patterns", "share" to share))

    /** Replaces .tandemignore; [InvalidArgumentException] naming the line if [text] does not compile (nothing is saved). */
    suspend fun shareSetIgnorePatterns(share: String, text: String): IgnorePatterns =
        IgnorePatterns.of(obj("share_set_ignore_patterns", "share" to share, "text" to text))

    /** [type]: none, trashcan, simple or staggered. */
    suspend fun shareSetVersioning(
        share: String, type: String, days: Long? = null, keep: Long? = null, maxBytes: Long? = null,
    ): Versioning = Versioning.of(
        obj("share_set_versioning", "share" to share, "type" to type, "days" to days, "keep" to keep, "max_bytes" to maxBytes),
    )

    suspend fun shareListVersions(share: String, path: String? = null): List<Version> =
        list("share_list_versions", "share" to share, "path" to path).objects(Version::of)

    /** Puts back the newest version of [path] (kept at or before [at], Unix seconds). */
    suspend fun shareRestoreVersion(share: String, path: String, at: Long? = null): Version =
        Version.of(obj("share_restore_version", "share" to share, "path" to path, "at" to at))

    suspend fun deviceInfo(): DeviceInfo = DeviceInfo.of(obj("device_info"))

    /** Reads config.json again and puts in force what changed there; what changed, in words. */
    suspend fun configReload(): String = obj("config_reload").getString("done")

    /** The device's bandwidth limits in bytes a second (0: none, else at least 32768); null: unchanged. */
    suspend fun deviceSetLimits(upload: Long? = null, download: Long? = null, lan: Boolean? = null): Limits =
        Limits.of(obj("device_set_limits", "upload" to upload, "download" to download, "lan" to lan))

    /** One share's bandwidth limits, beside the device's; null: unchanged. */
    suspend fun shareSetLimits(share: String, upload: Long? = null, download: Long? = null): Limits =
        Limits.of(obj("share_set_limits", "share" to share, "upload" to upload, "download" to download))

    /** The web UI's address, a one-time login link and the API key. */
    suspend fun guiLogin(): GuiLogin = GuiLogin.of(obj("gui_login"))

    /** Sets the web UI's password (at least 8 characters), or clears it when empty; whether one is set. */
    suspend fun guiSetPassword(password: String): Boolean =
        obj("gui_set_password", "password" to password).getBoolean("password")

    /** Events after [since], waiting up to [timeoutMs] for one. */
    suspend fun eventsPoll(
        since: Long, timeoutMs: Long? = null, types: List<String>? = null, share: String? = null, limit: Long? = null,
    ): EventPage = EventPage.of(
        obj(
            "events_poll", "since" to since, "timeout_ms" to timeoutMs, "types" to types?.let { JSONArray(it) },
            "share" to share, "limit" to limit,
        ),
    )

    /**
     * The events from now on (or after id [since]; 0: all kept), read by long
     * polls. The flow ends when the service closes.
     */
    fun events(since: Long? = null, types: List<String>? = null, share: String? = null): Flow<Event> = flow {
        var last = since ?: try {
            DeviceInfo.of(callBlocking("device_info") as JSONObject).lastEventId
        } catch (e: ClosedException) {
            return@flow
        }
        while (true) {
            // A poll that found nothing never suspends: cancellation is looked at here.
            currentCoroutineContext().ensureActive()
            val page = try {
                EventPage.of(
                    callBlocking(
                        "events_poll",
                        json(
                            "since" to last, "timeout_ms" to 1000, "types" to types?.let { JSONArray(it) },
                            "share" to share,
                        ),
                    ) as JSONObject,
                )
            } catch (e: ClosedException) {
                return@flow
            }
            last = page.lastId
            for (event in page.events) emit(event)
        }
    }.flowOn(Dispatchers.IO)

    /**
     * Stops the service and waits for running work to end consistently; calls
     * still waiting throw [ClosedException]. Closing twice does nothing. From
     * one of this service's own callbacks: [WrongThreadException], nothing closed.
     */
    override fun close() {
        synchronized(lock) {
            if (closed) return
            closed = true
        }
        val lib = NativeTandem.lib
        // Stop first: calls still waiting end with ClosedException; only when no
        // thread is inside the library is the handle freed.
        val status = lib.tandem_service_stop(handle)
        if (status != 0) {
            synchronized(lock) { closed = false }
            throw errorFor(status, "close() from one of this service's own callbacks would wait for itself")
        }
        var interrupted = false
        synchronized(lock) {
            while (calls > 0) {
                try {
                    (lock as Object).wait()
                } catch (e: InterruptedException) {
                    interrupted = true // the handle must not leak: wait on, interrupt again after
                }
            }
        }
        lib.tandem_service_close(handle)
        logCallback?.let { synchronized(liveCallbacks) { liveCallbacks -= it } }
        if (interrupted) Thread.currentThread().interrupt()
    }
}

private fun json(vararg params: Pair<String, Any?>): JSONObject {
    val j = JSONObject()
    for ((k, v) in params) if (v != null) j.put(k, v)
    return j
}
