//! Owner-only ACLs on Windows. The only `unsafe` in the app: Rust's std has no ACL API and no
//! well-kept safe crate covers it, so this module calls documented Win32 functions:
//! OpenProcessToken / GetTokenInformation for the user's SID, SetEntriesInAclW to build a
//! one-entry DACL, SetFileSecurityW to apply it as a *protected* DACL (no entries inherited
//! from the parent), and GetNamedSecurityInfoW to read it back.
//!
//! Wine (used by CI) keeps no ACLs of its own: it maps a DACL onto the Unix mode bits (owner
//! only -> 0770) and reads them back as entries for SYSTEM and the user. [`is_owner_only`]
//! therefore judges the entries, not the protected flag, so CI sees the effect under Wine.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::io;
use std::os::windows::ffi::OsStrExt as _;
use std::path::Path;
use std::ptr::{null, null_mut};
use windows_sys::Win32::Foundation::{CloseHandle, ERROR_SUCCESS, HANDLE, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    EXPLICIT_ACCESS_W, GetNamedSecurityInfoW, NO_MULTIPLE_TRUSTEE, SE_FILE_OBJECT, SET_ACCESS,
    SetEntriesInAclW, TRUSTEE_IS_SID, TRUSTEE_IS_USER, TRUSTEE_W,
};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACL, ACL_SIZE_INFORMATION, AclSizeInformation, DACL_SECURITY_INFORMATION,
    EqualSid, GetAce, GetAclInformation, GetTokenInformation, InitializeSecurityDescriptor,
    IsWellKnownSid, NO_INHERITANCE, PSECURITY_DESCRIPTOR, SE_DACL_PROTECTED, SECURITY_DESCRIPTOR,
    SUB_CONTAINERS_AND_OBJECTS_INHERIT, SetFileSecurityW, SetSecurityDescriptorControl,
    SetSecurityDescriptorDacl, TOKEN_QUERY, TOKEN_USER, TokenUser, WinBuiltinAdministratorsSid,
    WinLocalSystemSid,
};
use windows_sys::Win32::Storage::FileSystem::FILE_ALL_ACCESS;
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// Revision of a security descriptor made by InitializeSecurityDescriptor.
const SECURITY_DESCRIPTOR_REVISION: u32 = 1;
/// ACE types of "access allowed" and "access denied" entries.
const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;
const ACCESS_DENIED_ACE_TYPE: u8 = 1;

/// The current user's SID, held in the buffer GetTokenInformation filled.
struct UserSid {
    /// TOKEN_USER followed by the SID it points into; u64 keeps the pointer fields aligned.
    buffer: Vec<u64>,
}

impl UserSid {
    fn current() -> io::Result<UserSid> {
        let mut token: HANDLE = null_mut();
        // SAFETY: GetCurrentProcess returns a pseudo-handle that needs no closing; `token`
        // is a valid out-pointer and is closed below on every path.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
            return Err(io::Error::last_os_error());
        }
        let mut needed = 0u32;
        // SAFETY: a size query (null buffer, length 0) that only writes `needed`.
        unsafe { GetTokenInformation(token, TokenUser, null_mut(), 0, &mut needed) };
        let mut buffer = vec![0u64; (needed as usize).div_ceil(8).max(1)];
        // SAFETY: `buffer` is writable for `needed` bytes (rounded up) and 8-byte aligned.
        let ok = unsafe {
            GetTokenInformation(
                token,
                TokenUser,
                buffer.as_mut_ptr().cast::<c_void>(),
                (buffer.len() * 8) as u32,
                &mut needed,
            )
        };
        let result = if ok == 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(UserSid { buffer })
        };
        // SAFETY: `token` was opened above and is closed once.
        unsafe { CloseHandle(token) };
        result
    }

    /// Pointer to the SID; valid while `self` lives.
    fn sid(&self) -> *mut c_void {
        // SAFETY: GetTokenInformation(TokenUser) filled the buffer with a TOKEN_USER whose
        // SID pointer points inside the same buffer.
        unsafe { (*self.buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid }
    }
}

fn wide(path: &Path) -> Vec<u16> {
    path.as_os_str().encode_wide().chain(Some(0)).collect()
}

pub fn restrict_to_owner(path: &Path) -> io::Result<()> {
    let user = UserSid::current()?;
    let inheritance = if std::fs::metadata(path)?.is_dir() {
        SUB_CONTAINERS_AND_OBJECTS_INHERIT
    } else {
        NO_INHERITANCE
    };
    let entry = EXPLICIT_ACCESS_W {
        grfAccessPermissions: FILE_ALL_ACCESS,
        grfAccessMode: SET_ACCESS,
        grfInheritance: inheritance,
        Trustee: TRUSTEE_W {
            pMultipleTrustee: null_mut(),
            MultipleTrusteeOperation: NO_MULTIPLE_TRUSTEE,
            TrusteeForm: TRUSTEE_IS_SID,
            TrusteeType: TRUSTEE_IS_USER,
            ptstrName: user.sid().cast::<u16>(),
        },
    };
    let mut acl: *mut ACL = null_mut();
    // SAFETY: one valid entry whose SID outlives the call; no old ACL; `acl` receives a
    // LocalAlloc'ed ACL freed below.
    let status = unsafe { SetEntriesInAclW(1, &entry, null(), &mut acl) };
    if status != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    let result = apply_protected_dacl(path, acl);
    // SAFETY: `acl` came from SetEntriesInAclW and is freed once, after its last use.
    unsafe { LocalFree(acl.cast::<c_void>()) };
    result
}

/// Sets `acl` as the DACL of `path`, protected from inheritance; owner, group and SACL stay.
fn apply_protected_dacl(path: &Path, acl: *mut ACL) -> io::Result<()> {
    // SAFETY: SECURITY_DESCRIPTOR is plain data; InitializeSecurityDescriptor fills it.
    let mut descriptor: SECURITY_DESCRIPTOR = unsafe { std::mem::zeroed() };
    let sd: PSECURITY_DESCRIPTOR = (&mut descriptor as *mut SECURITY_DESCRIPTOR).cast();
    let name = wide(path);
    // SAFETY: `sd` points to a live SECURITY_DESCRIPTOR, `acl` to a valid ACL that outlives
    // the calls, and `name` is NUL-terminated.
    let ok = unsafe {
        InitializeSecurityDescriptor(sd, SECURITY_DESCRIPTOR_REVISION) != 0
            && SetSecurityDescriptorDacl(sd, 1, acl, 0) != 0
            && SetSecurityDescriptorControl(sd, SE_DACL_PROTECTED, SE_DACL_PROTECTED) != 0
            && SetFileSecurityW(name.as_ptr(), DACL_SECURITY_INFORMATION, sd) != 0
    };
    if ok {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub fn is_owner_only(path: &Path) -> io::Result<bool> {
    let user = UserSid::current()?;
    let name = wide(path);
    let mut dacl: *mut ACL = null_mut();
    let mut descriptor: PSECURITY_DESCRIPTOR = null_mut();
    // SAFETY: `name` is NUL-terminated; `dacl` points into `descriptor`, which is
    // LocalAlloc'ed by the call and freed below.
    let status = unsafe {
        GetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            null_mut(),
            null_mut(),
            &mut dacl,
            null_mut(),
            &mut descriptor,
        )
    };
    if status != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    let result = check_dacl(dacl, &user);
    // SAFETY: `descriptor` came from GetNamedSecurityInfoW and is freed once.
    unsafe { LocalFree(descriptor) };
    result
}

/// Non-empty, and every "allow" entry is for the current user, SYSTEM or Administrators
/// (who can take any file anyway); "deny" entries only take access away.
fn check_dacl(dacl: *mut ACL, user: &UserSid) -> io::Result<bool> {
    if dacl.is_null() {
        return Ok(false); // a NULL DACL grants everyone everything
    }
    let mut info = ACL_SIZE_INFORMATION {
        AceCount: 0,
        AclBytesInUse: 0,
        AclBytesFree: 0,
    };
    // SAFETY: `info` is an ACL_SIZE_INFORMATION of the size passed.
    let ok = unsafe {
        GetAclInformation(
            dacl,
            (&mut info as *mut ACL_SIZE_INFORMATION).cast::<c_void>(),
            size_of::<ACL_SIZE_INFORMATION>() as u32,
            AclSizeInformation,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut grants_user = false;
    for index in 0..info.AceCount {
        let mut ace: *mut c_void = null_mut();
        // SAFETY: `index` < AceCount; `ace` receives a pointer into the DACL.
        if unsafe { GetAce(dacl, index, &mut ace) } == 0 {
            return Err(io::Error::last_os_error());
        }
        let ace = ace.cast::<ACCESS_ALLOWED_ACE>();
        // SAFETY: every ACE starts with an ACE_HEADER.
        let kind = unsafe { (*ace).Header.AceType };
        if kind == ACCESS_DENIED_ACE_TYPE {
            continue;
        }
        if kind != ACCESS_ALLOWED_ACE_TYPE {
            return Ok(false); // object or callback entries: not ours, so not owner-only
        }
        // SAFETY: an ACCESS_ALLOWED_ACE's SID starts at SidStart and lies inside the DACL.
        let sid = unsafe { (&raw mut (*ace).SidStart).cast::<c_void>() };
        // SAFETY: `sid` and the user's SID are valid SIDs.
        let (is_user, is_admin) = unsafe {
            (
                EqualSid(sid, user.sid()) != 0,
                IsWellKnownSid(sid, WinLocalSystemSid) != 0
                    || IsWellKnownSid(sid, WinBuiltinAdministratorsSid) != 0,
            )
        };
        if !is_user && !is_admin {
            return Ok(false);
        }
        grants_user |= is_user;
    }
    Ok(grants_user)
}
