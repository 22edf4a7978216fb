// libtandem's C ABI (include/tandem/tandem.h) as JNA sees it. Nothing here
// knows the API's methods.
package dev.tandem

import com.sun.jna.Callback
import com.sun.jna.Library
import com.sun.jna.Native
import com.sun.jna.Pointer
import com.sun.jna.ptr.PointerByReference

internal const val ABI_VERSION = 1

@Suppress("FunctionName")
internal interface TandemLibrary : Library {
    fun interface LogCallback : Callback {
        fun invoke(context: Pointer?, level: Int, line: Pointer, length: Long)
    }

    fun interface DoneCallback : Callback {
        fun invoke(context: Pointer?, status: Int, json: Pointer, length: Long)
    }

    fun tandem_abi_version(): Int
    fun tandem_status_name(status: Int): String
    fun tandem_service_open(
        configDir: String, optionsJson: String?, log: LogCallback?, logContext: Pointer?,
        out: PointerByReference, errorMessage: PointerByReference?,
    ): Int
    fun tandem_service_stop(service: Pointer): Int
    fun tandem_service_close(service: Pointer): Int
    fun tandem_call(
        service: Pointer, method: String, paramsJson: String?,
        resultJson: PointerByReference?, errorMessage: PointerByReference?,
    ): Int
    fun tandem_call_async(
        service: Pointer, method: String, paramsJson: String?, done: DoneCallback, context: Pointer?,
    ): Int
    fun tandem_free(text: Pointer?)
}

internal object NativeTandem {
    /** The library TANDEM_LIBRARY names, else "tandem" on JNA's search path. */
    val lib: TandemLibrary by lazy {
        val name = System.getenv("TANDEM_LIBRARY")?.takeIf { it.isNotEmpty() } ?: "tandem"
        val options = mapOf(Library.OPTION_STRING_ENCODING to "UTF-8")
        val loaded = try {
            Native.load(name, TandemLibrary::class.java, options)
        } catch (e: UnsatisfiedLinkError) {
            throw UnsatisfiedLinkError(
                "libtandem not found ($name: ${e.message}); build it (make build: build/libtandem.so) " +
                    "and set TANDEM_LIBRARY to its path",
            )
        }
        val version = loaded.tandem_abi_version()
        check(version == ABI_VERSION) {
            "$name speaks C ABI version $version; this binding needs $ABI_VERSION"
        }
        loaded
    }

    /** The library's string as a String; frees it. */
    fun take(ref: PointerByReference): String {
        val p = ref.value ?: return ""
        try {
            return p.getString(0, "UTF-8")
        } finally {
            lib.tandem_free(p)
        }
    }
}
