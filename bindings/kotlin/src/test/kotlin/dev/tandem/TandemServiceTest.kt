// Embedded services through JNA, as a JVM app would use them: real folders,
// real TLS on loopback, two "devices" in this one process. Waits poll a
// condition with a deadline.
package dev.tandem

import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.nio.file.Path

class TandemServiceTest {
    @TempDir
    lateinit var tmp: Path

    private val open = mutableListOf<TandemService>()

    @AfterEach
    fun closeAll() = open.reversed().forEach { it.close() }

    private fun service(name: String) =
        TandemService.open(tmp.resolve(name).toString(), listen = "tcp/127.0.0.1:0").also { open += it }

    private suspend fun waitUntil(what: String, timeoutMs: Long = 30_000, condition: suspend () -> Boolean) {
        val deadline = System.nanoTime() + timeoutMs * 1_000_000
        while (System.nanoTime() < deadline) {
            if (condition()) return
            delay(20)
        }
        throw AssertionError("$what did not happen within $timeoutMs ms")
    }

    private fun File.textOrNull() = if (exists()) readText() else null

    private class Pair(val a: TandemService, val b: TandemService, val dirA: File, val dirB: File)

    private suspend fun pair(): Pair {
        val a = service("config-a")
        val b = service("config-b")
        val dirA = tmp.resolve("a").toFile().apply { mkdirs() }
        val dirB = tmp.resolve("b").toFile()
        val share = a.shareAdd(dirA.path, name = "s")
        val token = a.shareGetSyncToken(share.id)
        val joined = b.shareImportFromToken(token, dirB.path, name = "s")
        b.shareAddPeer(joined.id, "tcp/127.0.0.1:${a.deviceInfo().listeningPort}")
        return Pair(a, b, dirA, dirB)
    }

    @Test
    fun aPeersOverwriteIsKeptAsAVersionAndRestored() = runBlocking<Unit> {
        val p = pair()
        File(p.dirA, "plan.txt").writeText("the plan")
        waitUntil("the plan on b") { File(p.dirB, "plan.txt").textOrNull() == "the plan" }
        File(p.dirB, "plan.txt").writeText("b's rewrite")
        waitUntil("the rewrite on a") { File(p.dirA, "plan.txt").textOrNull() == "b's rewrite" }
        val kept = p.a.shareListVersions("s", "plan.txt").single()
        assertEquals("plan.txt", kept.path)
        assertEquals("the plan".length.toLong(), kept.size)
        assertEquals("trashcan", p.a.shareGetInfo("s").versioning.type)
        p.a.shareRestoreVersion("s", "plan.txt")
        waitUntil("the restore on b") { File(p.dirB, "plan.txt").textOrNull() == "the plan" }
        assertThrows<NotFoundException> { runBlocking { p.a.shareRestoreVersion("s", "never-there.txt") } }
        assertEquals("simple", p.a.shareSetVersioning("s", "simple", keep = 3).type)
    }

    @Test
    fun ignorePatternsAreCheckedBeforeSavingAndKeepAFolderOffThePeer() = runBlocking<Unit> {
        val p = pair()
        val refused = assertThrows<InvalidArgumentException> { runBlocking { p.a.shareSetIgnorePatterns("s", "ok\n(?x)bad\n") } }
        assertTrue(refused.message!!.contains(".tandemignore:2: unknown prefix (?x)"), refused.message)
        assertFalse(File(p.dirA, ".tandemignore").exists())
        val saved = p.a.shareSetIgnorePatterns("s", "node_modules\n")
        assertEquals(listOf(".tandemignore"), saved.files)
        assertEquals("", saved.error)
        val check = p.a.shareCheckIgnored("s", "node_modules/left-pad/index.js")
        assertTrue(check.ignored)
        assertEquals(IgnoreLine(".tandemignore", 1, "node_modules"), check.line)
        assertEquals("ignored by .tandemignore:1: node_modules", check.why)
        File(p.dirA, "node_modules/left-pad").mkdirs()
        File(p.dirA, "node_modules/left-pad/index.js").writeText("module.exports = 1")
        File(p.dirA, "index.js").writeText("require('left-pad')")
        waitUntil("index.js on b") { File(p.dirB, "index.js").textOrNull() == "require('left-pad')" }
        waitUntil("a counting node_modules") { p.a.shareGetInfo("s").ignored == 1L }
        assertFalse(File(p.dirB, "node_modules").exists())
    }

    @Test
    fun twoEmbeddedServicesSyncAFolderBothWays() = runBlocking<Unit> {
        val p = pair()
        File(p.dirA, "from-a.txt").writeText("written on a")
        waitUntil("a's file on b") { File(p.dirB, "from-a.txt").textOrNull() == "written on a" }
        File(p.dirB, "from-b.txt").writeText("written on b")
        waitUntil("b's file on a") { File(p.dirA, "from-b.txt").textOrNull() == "written on b" }
        waitUntil("both connected") { p.b.shareListPeers("s").single().connected }
        assertEquals("write", p.b.shareGetInfo("s").mode)
    }

    @Test
    fun aConflictIsCreatedListedAndResolved() = runBlocking<Unit> {
        val p = pair()
        File(p.dirA, "plan.txt").writeText("the original")
        waitUntil("the original on b") { File(p.dirB, "plan.txt").textOrNull() == "the original" }
        for (s in listOf(p.a, p.b)) s.shareSetSyncEnabled("s", false)
        waitUntil("both paused") { p.a.shareGetInfo("s").connectedDevices.isEmpty() && p.b.shareGetInfo("s").connectedDevices.isEmpty() }
        File(p.dirA, "plan.txt").writeText("edited on a")
        p.a.shareRescan("s")
        File(p.dirB, "plan.txt").writeText("edited on b, later")
        p.b.shareRescan("s")
        for (s in listOf(p.a, p.b)) s.shareSetSyncEnabled("s", true)
        waitUntil("the conflict on both, in sync") {
            p.a.shareListConflicts("s").size == 1 && p.b.shareListConflicts("s").size == 1 &&
                File(p.dirA, "plan.txt").textOrNull() == File(p.dirB, "plan.txt").textOrNull() &&
                p.a.shareGetInfo("s").needFiles == 0L
        }
        val conflict = p.a.shareListConflicts("s").single()
        assertEquals("plan.txt", conflict.path)
        assertTrue(p.a.shareResolveConflict("s", conflict.conflict, "keep_both").isNotEmpty())
        assertTrue(p.a.shareListConflicts("s").isEmpty())
        assertThrows<InvalidParamsException> { p.a.shareResolveConflict("s", conflict.conflict, "keep_all") }
    }

    @Test
    fun badInputThrowsTheRightExceptionAndCreatesNothing() = runBlocking<Unit> {
        val e = assertThrows<InvalidArgumentException> { TandemService.open("relative/config") }
        assertTrue(e.message!!.contains("absolute"), e.message)
        assertFalse(File("relative").exists())
        val svc = service("config")
        val docs = tmp.resolve("docs").toFile().apply { mkdirs() }
        assertThrows<InvalidArgumentException> { svc.shareAdd("docs") }
        assertThrows<InvalidArgumentException> { svc.shareImportFromToken("tandem:not-a-token", tmp.resolve("j").toString()) }
        assertThrows<NotFoundException> { svc.shareGetInfo("no-such-share") }
        assertThrows<UnknownMethodException> { svc.call("share_explode") }
        assertTrue(svc.shareList().isEmpty())
        assertFalse(File(docs, ".tandem").exists())
        assertFalse(tmp.resolve("j").toFile().exists())
        svc.close()
        assertThrows<ClosedException> { svc.shareList() }
    }

    @Test
    @Timeout(120)
    fun cancellingALongPollResumesAtOnceAndCloseStillWorks() = runBlocking<Unit> {
        val svc = service("config")
        val now = svc.deviceInfo().lastEventId
        // An hour's poll: only a cancellation that does not wait for it ends this test in time.
        val page = withTimeoutOrNull(200) { svc.eventsPoll(now, timeoutMs = 3_600_000) }
        assertEquals(null, page)
        assertTrue(svc.shareList().isEmpty())
        svc.close()
        assertThrows<ClosedException> { svc.deviceInfo() }
    }

    @Test
    fun eventsArriveAsAFlow() = runBlocking<Unit> {
        val svc = service("config")
        val docs = tmp.resolve("docs").toFile().apply { mkdirs() }
        svc.shareAdd(docs.path)
        val since = svc.deviceInfo().lastEventId
        val job = launch { File(docs, "note.txt").writeText("hi") }
        val seen = mutableListOf<Event>()
        val event = withTimeoutOrNull(30_000) {
            svc.events(since = since, types = listOf("local_change_detected")).first {
                seen += it
                it.data.getString("path") == "note.txt"
            }
        } ?: throw AssertionError("no event for note.txt within 30 s; seen: $seen")
        job.join()
        assertEquals("added", event.data.getString("kind"))
    }

    @Test
    fun anEmbeddedServiceServesTheWebUiWhenAsked() = runBlocking<Unit> {
        val svc = TandemService.open(tmp.resolve("config-ui").toString(), listen = "tcp/127.0.0.1:0", gui = "127.0.0.1:0")
            .also { open += it }
        val login = svc.guiLogin()
        assertTrue(login.loginUrl.startsWith(login.url + "login?token="), login.loginUrl)
        assertFalse(login.password)
        val http = java.net.http.HttpClient.newHttpClient()
        val refused = http.send(
            java.net.http.HttpRequest.newBuilder(java.net.URI(login.url)).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString(),
        )
        assertEquals(401, refused.statusCode())
        val byKey = http.send(
            java.net.http.HttpRequest.newBuilder(java.net.URI(login.url + "rest/device_info"))
                .header("X-API-Key", login.apiKey)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString(),
        )
        assertEquals(200, byKey.statusCode(), byKey.body())
        assertTrue(byKey.body().contains(svc.deviceInfo().deviceId))
        assertThrows<InvalidArgumentException> { runBlocking { svc.guiSetPassword("short") } }
        assertTrue(svc.guiSetPassword("long enough password"))
        assertThrows<FailedPreconditionException> { runBlocking { service("config-quiet").guiLogin() } }
    }
}
