// The binding against api/tandem-api.json: a method, parameter, type or error
// kind added to the service without its binding fails here.
package dev.tandem

import org.json.JSONObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Test
import java.io.File
import kotlin.coroutines.Continuation

class ApiDescriptionTest {
    private val description = JSONObject(File(System.getenv("TANDEM_API_DESCRIPTION")).readText())

    private fun camel(name: String) = name.split('_').mapIndexed { i, part ->
        if (i == 0) part else part.replaceFirstChar { it.uppercase() }
    }.joinToString("")

    private val apiMethods = TandemService::class.java.declaredMethods.filter {
        !it.isSynthetic && java.lang.reflect.Modifier.isPublic(it.modifiers) &&
            it.parameterTypes.lastOrNull() == Continuation::class.java
    }

    @Test
    fun everyDescribedMethodIsASuspendFunctionWithTheSameParameters() {
        val methods = description.getJSONArray("methods")
        val described = mutableSetOf<String>()
        for (i in 0 until methods.length()) {
            val m = methods.getJSONObject(i)
            val name = camel(m.getString("name"))
            described += name
            val fn = apiMethods.singleOrNull { it.name == name }
            assertNotNull(fn, "${m.getString("name")} has no Kotlin function $name")
            val params = m.getJSONArray("params")
            val expected = (0 until params.length()).map { camel(params.getJSONObject(it).getString("name")) }
            assertEquals(expected, fn!!.parameters.dropLast(1).map { it.name }, name)
        }
        // `call` is the untyped way in to every method; nothing else is bound.
        assertEquals(described + "call", apiMethods.map { it.name }.toSet())
    }

    @Test
    fun everyDescribedTypeIsADataClassWithExactlyItsFields() {
        val types = description.getJSONObject("types")
        val plain = setOf("Empty", "PeerAddress", "SyncToken", "Done", "Reverted", "GuiPassword")
        for (name in types.keySet()) {
            if (name in plain) continue
            val cls = Class.forName("dev.tandem.$name")
            val fields = cls.declaredFields.filter { !java.lang.reflect.Modifier.isStatic(it.modifiers) }.map { it.name }
            val expected = types.getJSONObject(name).getJSONObject("fields").keySet().map { camel(it) }
            assertEquals(expected.toSet(), fields.toSet(), name)
        }
    }

    @Test
    fun everyErrorKindHasItsExceptionClass() {
        val errors = description.getJSONArray("errors")
        for (i in 0 until errors.length()) {
            val e = errors.getJSONObject(i)
            val made = ERRORS_BY_STATUS[e.getInt("status")]
            assertNotNull(made, e.getString("kind"))
            assertEquals(e.getString("kind"), made!!("x").kind)
        }
    }
}
