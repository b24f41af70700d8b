/* A stand-in bcryptprimitives.dll for running Windows builds under Wine 8, which lacks it.
 *
 * Rust's std (1.78+) gets random bytes from ProcessPrng in bcryptprimitives.dll, present on
 * every real Windows 10/11; without it the program stops at load. This forwards to
 * RtlGenRandom (exported as SystemFunction036 by advapi32), the system CSPRNG Wine does have.
 * Test use only: it is built into a throwaway WINEPREFIX by .ci/wine-setup.sh and is never
 * shipped in an installer.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c \
 *          -ladvapi32 -Wl,--kill-at
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* BOOL ProcessPrng(PBYTE pbData, SIZE_T cbData): always TRUE on Windows; large requests are
 * split because RtlGenRandom takes a 32-bit length. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
