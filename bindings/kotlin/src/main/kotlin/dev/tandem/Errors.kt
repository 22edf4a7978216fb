// One exception class per error kind of the API (api/tandem-api.json, "errors").
package dev.tandem

open class TandemException(val kind: String, val status: Int, message: String) : Exception(message)

class InvalidArgumentException(message: String) : TandemException("invalid_argument", 1, message)
class NotFoundException(message: String) : TandemException("not_found", 2, message)
class AlreadyExistsException(message: String) : TandemException("already_exists", 3, message)
class FailedPreconditionException(message: String) : TandemException("failed_precondition", 4, message)
class UnsupportedException(message: String) : TandemException("unsupported", 5, message)
class CorruptException(message: String) : TandemException("corrupt", 6, message)
class StorageException(message: String) : TandemException("io", 7, message)
class InternalException(message: String) : TandemException("internal", 8, message)
class UnknownMethodException(message: String) : TandemException("unknown_method", 9, message)
class InvalidParamsException(message: String) : TandemException("invalid_params", 10, message)
class ClosedException(message: String) : TandemException("closed", 11, message)
class WrongThreadException(message: String) : TandemException("wrong_thread", 12, message)

/** The exception for each status of the C ABI, by status. */
val ERRORS_BY_STATUS: Map<Int, (String) -> TandemException> = mapOf(
    1 to ::InvalidArgumentException,
    2 to ::NotFoundException,
    3 to ::AlreadyExistsException,
    4 to ::FailedPreconditionException,
    5 to ::UnsupportedException,
    6 to ::CorruptException,
    7 to ::StorageException,
    8 to ::InternalException,
    9 to ::UnknownMethodException,
    10 to ::InvalidParamsException,
    11 to ::ClosedException,
    12 to ::WrongThreadException,
)

internal fun errorFor(status: Int, message: String): TandemException =
    ERRORS_BY_STATUS[status]?.invoke(message) ?: TandemException("unknown", status, message)
