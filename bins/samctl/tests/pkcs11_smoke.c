/* The C-ABI smoke test of sam-pkcs11 (bins/samctl/tests/client_example.rs builds and runs
 * it): every function of the module's CK_FUNCTION_LIST called with invalid arguments —
 * null pointers, wrong handles, short buffers — before and after C_Initialize. Each must
 * return (no crash), none may report a panic (CKR_GENERAL_ERROR), and the checked cases
 * must give the PKCS#11 v2.40 return value. Declarations are written out here (the layout
 * of PKCS#11's types on this platform), so no pkcs11.h is needed.
 *
 * Usage: pkcs11_smoke MODULE.so   (SAM_PKCS11_CONFIG names a configuration whose first
 * token's user has one P-256 key). Exit 0 when every check held. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef unsigned long CK_ULONG;
typedef CK_ULONG CK_RV;
typedef CK_RV (*any_fn)(CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG, CK_ULONG);

struct version { unsigned char major, minor; };
struct function_list { struct version version; void *f[68]; };
struct attribute { CK_ULONG type; void *value; CK_ULONG len; };
struct mechanism { CK_ULONG type; void *parameter; CK_ULONG len; };
struct init_args { void *create, *destroy, *lock, *unlock; CK_ULONG flags; void *reserved; };

enum {
    INITIALIZE = 0, FINALIZE = 1, GET_INFO = 2, GET_FUNCTION_LIST = 3, GET_SLOT_LIST = 4,
    GET_SLOT_INFO = 5, GET_TOKEN_INFO = 6, GET_MECHANISM_LIST = 7, GET_MECHANISM_INFO = 8,
    OPEN_SESSION = 12, CLOSE_SESSION = 13, GET_SESSION_INFO = 15, LOGIN = 18, LOGOUT = 19,
    GET_ATTRIBUTE_VALUE = 24, FIND_OBJECTS_INIT = 26, FIND_OBJECTS = 27,
    FIND_OBJECTS_FINAL = 28, SIGN_INIT = 42, SIGN = 43, SIGN_UPDATE = 44, SIGN_FINAL = 45,
    FUNCTIONS = 68
};

#define CKR_OK 0x0UL
#define CKR_GENERAL_ERROR 0x5UL
#define CKR_ARGUMENTS_BAD 0x7UL
#define CKR_CANT_LOCK 0xAUL
#define CKR_ATTRIBUTE_SENSITIVE 0x11UL
#define CKR_KEY_HANDLE_INVALID 0x60UL
#define CKR_MECHANISM_INVALID 0x70UL
#define CKR_OBJECT_HANDLE_INVALID 0x82UL
#define CKR_OPERATION_ACTIVE 0x90UL
#define CKR_OPERATION_NOT_INITIALIZED 0x91UL
#define CKR_SESSION_HANDLE_INVALID 0xB3UL
#define CKR_SESSION_PARALLEL_NOT_SUPPORTED 0xB4UL
#define CKR_USER_NOT_LOGGED_IN 0x101UL
#define CKR_USER_TYPE_INVALID 0x103UL
#define CKR_BUFFER_TOO_SMALL 0x150UL
#define CKR_CRYPTOKI_NOT_INITIALIZED 0x190UL
#define CKR_CRYPTOKI_ALREADY_INITIALIZED 0x191UL
#define CKR_SLOT_ID_INVALID 0x3UL
#define CK_UNAVAILABLE_INFORMATION (~0UL)
#define CKF_SERIAL_SESSION 0x4UL
#define CKU_SO 0UL
#define CKU_USER 1UL
#define CKA_CLASS 0x0UL
#define CKA_VALUE 0x11UL
#define CKA_ID 0x102UL
#define CKO_PRIVATE_KEY 3UL
#define CKM_RSA_PKCS 0x1UL
#define CKM_ECDSA_SHA256 0x1044UL

static int failures;

static void expect(const char *what, CK_RV got, CK_RV want) {
    if (got != want) {
        printf("FAIL %s: 0x%lx, not 0x%lx\n", what, got, want);
        failures++;
    }
}

#define CALL(list, index) ((any_fn)(list)->f[index])

/* Every function with all-zero arguments (null pointers, handle 0, slot 0), except the
 * ones that would change the module's life (C_Initialize, C_Finalize): each returns, and
 * none reports a panic. */
static void sweep(struct function_list *list, const char *phase) {
    for (int i = 0; i < FUNCTIONS; i++) {
        if (i == INITIALIZE || i == FINALIZE) continue;
        if (list->f[i] == NULL) {
            printf("FAIL %s: function %d is missing from the list\n", phase, i);
            failures++;
            continue;
        }
        CK_RV rv = CALL(list, i)(0, 0, 0, 0, 0, 0);
        if (rv == CKR_GENERAL_ERROR) {
            printf("FAIL %s: function %d with zero arguments: CKR_GENERAL_ERROR\n", phase, i);
            failures++;
        }
    }
}

static int dummy_mutex(void) { return 0; }

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s MODULE.so\n", argv[0]); return 2; }
    void *module = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!module) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
    CK_RV (*get_function_list)(struct function_list **) =
        (CK_RV (*)(struct function_list **))dlsym(module, "C_GetFunctionList");
    if (!get_function_list) { fprintf(stderr, "no C_GetFunctionList\n"); return 2; }
    expect("C_GetFunctionList(NULL)", get_function_list(NULL), CKR_ARGUMENTS_BAD);
    struct function_list *list = NULL;
    expect("C_GetFunctionList", get_function_list(&list), CKR_OK);
    if (!list) return 2;
    if (list->version.major != 2 || list->version.minor != 40) {
        printf("FAIL version %d.%d\n", list->version.major, list->version.minor);
        failures++;
    }

    /* Before C_Initialize. */
    CK_ULONG count = 0;
    expect("C_GetSlotList before C_Initialize",
           CALL(list, GET_SLOT_LIST)(0, 0, (CK_ULONG)&count, 0, 0, 0),
           CKR_CRYPTOKI_NOT_INITIALIZED);
    expect("C_Finalize before C_Initialize", CALL(list, FINALIZE)(0, 0, 0, 0, 0, 0),
           CKR_CRYPTOKI_NOT_INITIALIZED);
    sweep(list, "before C_Initialize");

    /* C_Initialize's arguments. */
    struct init_args args;
    memset(&args, 0, sizeof args);
    args.reserved = &args;
    expect("C_Initialize with pReserved", CALL(list, INITIALIZE)((CK_ULONG)&args, 0, 0, 0, 0, 0),
           CKR_ARGUMENTS_BAD);
    memset(&args, 0, sizeof args);
    args.create = args.destroy = args.lock = args.unlock = (void *)dummy_mutex;
    expect("C_Initialize with mutexes and no CKF_OS_LOCKING_OK",
           CALL(list, INITIALIZE)((CK_ULONG)&args, 0, 0, 0, 0, 0), CKR_CANT_LOCK);
    args.lock = NULL;
    expect("C_Initialize with some mutexes",
           CALL(list, INITIALIZE)((CK_ULONG)&args, 0, 0, 0, 0, 0), CKR_ARGUMENTS_BAD);
    expect("C_Initialize", CALL(list, INITIALIZE)(0, 0, 0, 0, 0, 0), CKR_OK);
    expect("C_Initialize again", CALL(list, INITIALIZE)(0, 0, 0, 0, 0, 0),
           CKR_CRYPTOKI_ALREADY_INITIALIZED);

    /* Slots and tokens. */
    CK_ULONG slots[4];
    expect("C_GetSlotList(NULL count)", CALL(list, GET_SLOT_LIST)(0, (CK_ULONG)slots, 0, 0, 0, 0),
           CKR_ARGUMENTS_BAD);
    count = 0;
    expect("C_GetSlotList short", CALL(list, GET_SLOT_LIST)(0, (CK_ULONG)slots, (CK_ULONG)&count, 0, 0, 0),
           CKR_BUFFER_TOO_SMALL);
    expect("C_GetSlotList short: the count", count, 1);
    unsigned char info[512];
    expect("C_GetSlotInfo(slot 7)", CALL(list, GET_SLOT_INFO)(7, (CK_ULONG)info, 0, 0, 0, 0),
           CKR_SLOT_ID_INVALID);
    expect("C_GetTokenInfo(NULL)", CALL(list, GET_TOKEN_INFO)(0, 0, 0, 0, 0, 0), CKR_ARGUMENTS_BAD);
    CK_ULONG mechanisms[1];
    count = 1;
    expect("C_GetMechanismList short",
           CALL(list, GET_MECHANISM_LIST)(0, (CK_ULONG)mechanisms, (CK_ULONG)&count, 0, 0, 0),
           CKR_BUFFER_TOO_SMALL);
    expect("C_GetMechanismList short: the count", count, 2);
    expect("C_GetMechanismInfo(CKM_RSA_PKCS) of a P-256 token",
           CALL(list, GET_MECHANISM_INFO)(0, CKM_RSA_PKCS, (CK_ULONG)info, 0, 0, 0),
           CKR_MECHANISM_INVALID);

    /* Sessions and login. */
    CK_ULONG session = 0;
    expect("C_OpenSession without CKF_SERIAL_SESSION",
           CALL(list, OPEN_SESSION)(0, 0, 0, 0, (CK_ULONG)&session, 0),
           CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    expect("C_OpenSession(NULL handle)", CALL(list, OPEN_SESSION)(0, CKF_SERIAL_SESSION, 0, 0, 0, 0),
           CKR_ARGUMENTS_BAD);
    expect("C_OpenSession(slot 7)", CALL(list, OPEN_SESSION)(7, CKF_SERIAL_SESSION, 0, 0, (CK_ULONG)&session, 0),
           CKR_SLOT_ID_INVALID);
    expect("C_OpenSession", CALL(list, OPEN_SESSION)(0, CKF_SERIAL_SESSION, 0, 0, (CK_ULONG)&session, 0),
           CKR_OK);
    expect("C_CloseSession(wrong handle)", CALL(list, CLOSE_SESSION)(session + 1000, 0, 0, 0, 0, 0),
           CKR_SESSION_HANDLE_INVALID);
    expect("C_GetSessionInfo(NULL)", CALL(list, GET_SESSION_INFO)(session, 0, 0, 0, 0, 0),
           CKR_ARGUMENTS_BAD);
    struct mechanism ecdsa = { CKM_ECDSA_SHA256, NULL, 0 };
    expect("C_SignInit before C_Login", CALL(list, SIGN_INIT)(session, (CK_ULONG)&ecdsa, 1, 0, 0, 0),
           CKR_USER_NOT_LOGGED_IN);
    expect("C_Login as the security officer", CALL(list, LOGIN)(session, CKU_SO, 0, 0, 0, 0),
           CKR_USER_TYPE_INVALID);
    expect("C_Login (protected path)", CALL(list, LOGIN)(session, CKU_USER, 0, 0, 0, 0), CKR_OK);

    /* Objects. */
    CK_ULONG objects[4], found = 0;
    expect("C_FindObjects before C_FindObjectsInit",
           CALL(list, FIND_OBJECTS)(session, (CK_ULONG)objects, 4, (CK_ULONG)&found, 0, 0),
           CKR_OPERATION_NOT_INITIALIZED);
    expect("C_FindObjectsInit(NULL template, 1)", CALL(list, FIND_OBJECTS_INIT)(session, 0, 1, 0, 0, 0),
           CKR_ARGUMENTS_BAD);
    CK_ULONG class = CKO_PRIVATE_KEY;
    struct attribute by_class = { CKA_CLASS, &class, sizeof class };
    expect("C_FindObjectsInit", CALL(list, FIND_OBJECTS_INIT)(session, (CK_ULONG)&by_class, 1, 0, 0, 0), CKR_OK);
    expect("C_FindObjects(NULL count)", CALL(list, FIND_OBJECTS)(session, (CK_ULONG)objects, 4, 0, 0, 0),
           CKR_ARGUMENTS_BAD);
    expect("C_FindObjects", CALL(list, FIND_OBJECTS)(session, (CK_ULONG)objects, 4, (CK_ULONG)&found, 0, 0),
           CKR_OK);
    expect("C_FindObjects: one private key", found, 1);
    expect("C_FindObjectsFinal", CALL(list, FIND_OBJECTS_FINAL)(session, 0, 0, 0, 0, 0), CKR_OK);
    CK_ULONG key = objects[0];
    unsigned char small[1];
    struct attribute id = { CKA_ID, small, sizeof small };
    expect("C_GetAttributeValue(wrong object)",
           CALL(list, GET_ATTRIBUTE_VALUE)(session, key + 4096, (CK_ULONG)&id, 1, 0, 0),
           CKR_OBJECT_HANDLE_INVALID);
    expect("C_GetAttributeValue short", CALL(list, GET_ATTRIBUTE_VALUE)(session, key, (CK_ULONG)&id, 1, 0, 0),
           CKR_BUFFER_TOO_SMALL);
    expect("C_GetAttributeValue short: unavailable", id.len, CK_UNAVAILABLE_INFORMATION);
    id.value = NULL;
    expect("C_GetAttributeValue length", CALL(list, GET_ATTRIBUTE_VALUE)(session, key, (CK_ULONG)&id, 1, 0, 0),
           CKR_OK);
    expect("C_GetAttributeValue length: a key id", id.len, 33);
    struct attribute value = { CKA_VALUE, NULL, 0 };
    expect("C_GetAttributeValue(private value)",
           CALL(list, GET_ATTRIBUTE_VALUE)(session, key, (CK_ULONG)&value, 1, 0, 0),
           CKR_ATTRIBUTE_SENSITIVE);

    /* Signing: everything short of asking the user. */
    expect("C_SignInit(NULL mechanism)", CALL(list, SIGN_INIT)(session, 0, key, 0, 0, 0), CKR_ARGUMENTS_BAD);
    expect("C_SignInit(wrong key)", CALL(list, SIGN_INIT)(session, (CK_ULONG)&ecdsa, key + 4096, 0, 0, 0),
           CKR_KEY_HANDLE_INVALID);
    expect("C_Sign before C_SignInit", CALL(list, SIGN)(session, (CK_ULONG)"x", 1, 0, (CK_ULONG)&count, 0),
           CKR_OPERATION_NOT_INITIALIZED);
    expect("C_SignInit", CALL(list, SIGN_INIT)(session, (CK_ULONG)&ecdsa, key, 0, 0, 0), CKR_OK);
    expect("C_SignInit again", CALL(list, SIGN_INIT)(session, (CK_ULONG)&ecdsa, key, 0, 0, 0),
           CKR_OPERATION_ACTIVE);
    expect("C_SignUpdate(NULL, 5)", CALL(list, SIGN_UPDATE)(session, 0, 5, 0, 0, 0), CKR_ARGUMENTS_BAD);
    CK_ULONG length = 0;
    expect("C_Sign length query", CALL(list, SIGN)(session, (CK_ULONG)"x", 1, 0, (CK_ULONG)&length, 0),
           CKR_OK);
    expect("C_Sign length: r||s of P-256", length, 64);
    unsigned char signature[64];
    length = 10;
    expect("C_Sign short", CALL(list, SIGN)(session, (CK_ULONG)"x", 1, (CK_ULONG)signature, (CK_ULONG)&length, 0),
           CKR_BUFFER_TOO_SMALL);
    expect("C_Sign short: the length", length, 64);
    expect("C_SignFinal(NULL length)", CALL(list, SIGN_FINAL)(session, (CK_ULONG)signature, 0, 0, 0, 0),
           CKR_ARGUMENTS_BAD);
    expect("C_Logout", CALL(list, LOGOUT)(session, 0, 0, 0, 0, 0), CKR_OK);
    sweep(list, "after C_Initialize");

    /* The end, twice, and a new life. */
    expect("C_Finalize(pReserved)", CALL(list, FINALIZE)((CK_ULONG)&args, 0, 0, 0, 0, 0), CKR_ARGUMENTS_BAD);
    expect("C_Finalize", CALL(list, FINALIZE)(0, 0, 0, 0, 0, 0), CKR_OK);
    expect("C_Finalize again", CALL(list, FINALIZE)(0, 0, 0, 0, 0, 0), CKR_CRYPTOKI_NOT_INITIALIZED);
    expect("C_GetInfo after C_Finalize", CALL(list, GET_INFO)((CK_ULONG)info, 0, 0, 0, 0, 0),
           CKR_CRYPTOKI_NOT_INITIALIZED);
    expect("C_Initialize after C_Finalize", CALL(list, INITIALIZE)(0, 0, 0, 0, 0, 0), CKR_OK);
    expect("C_GetInfo", CALL(list, GET_INFO)((CK_ULONG)info, 0, 0, 0, 0, 0), CKR_OK);
    expect("C_Finalize", CALL(list, FINALIZE)(0, 0, 0, 0, 0, 0), CKR_OK);

    if (failures) { printf("%d failures\n", failures); return 1; }
    printf("ok\n");
    return 0;
}
