//! Runtime selection of the instruction set a CPU kernel is compiled for:
//! one definition shared by the pair forces, the neighbour searches and the
//! encoder's convolutions.

/// Define `fn name(args) -> ret` that runs a kernel body compiled for the
/// best instruction set the CPU supports: AVX-512F, AVX2 + FMA, or the
/// baseline target. The body and everything it calls in the hot loop must be
/// `#[inline(always)]` so that it is compiled with the caller's features.
///
/// Four forms:
///
/// - `fn name(args) { ... }`: the block is the body;
/// - `fn name<G: Bound>(args) -> R => body::<G>`: the body is a named
///   (generic) function taking the same arguments;
/// - `fn name<G: Bound>(args) -> R => body::<G; FMA>`: as above, with one
///   more `const FMA: bool` argument, `true` in the AVX tiers (both have
///   fused multiply-add) and `false` in the baseline;
/// - `fn name<G: Bound>(args) -> R => body::<G; FMA, WIDE>`: as above, and
///   a second `const WIDE: bool`, `true` only in the AVX-512 tier, for
///   bodies with 512-bit code paths.
///
/// Every tier runs the same source, and Rust never reassociates
/// floating-point arithmetic, so the tier changes speed, not results, except
/// where a body asks for fused multiply-add through `FMA`.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $crate::backend::cpu::multiversion::multiversion! {
            @emit [$(#[$meta])*] $vis $name [] [$($arg: $ty),*] [$($ret)?]
            prelude {
                #[inline(always)]
                fn body($($arg: $ty),*) $(-> $ret)? $body
            }
            wide { body($($arg),*) }
            fast { body($($arg),*) }
            base { body($($arg),*) }
        }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident $(<$($g:ident: $bound:path),+>)?($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?
        => $body:ident::<$($garg:ident),*; FMA, WIDE>) => {
        $crate::backend::cpu::multiversion::multiversion! {
            @emit [$(#[$meta])*] $vis $name [$($($g: $bound),+)?] [$($arg: $ty),*] [$($ret)?]
            prelude {}
            wide { $body::<$($garg,)* true, true>($($arg),*) }
            fast { $body::<$($garg,)* true, false>($($arg),*) }
            base { $body::<$($garg,)* false, false>($($arg),*) }
        }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident $(<$($g:ident: $bound:path),+>)?($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?
        => $body:ident::<$($garg:ident),*; FMA>) => {
        $crate::backend::cpu::multiversion::multiversion! {
            @emit [$(#[$meta])*] $vis $name [$($($g: $bound),+)?] [$($arg: $ty),*] [$($ret)?]
            prelude {}
            wide { $body::<$($garg,)* true>($($arg),*) }
            fast { $body::<$($garg,)* true>($($arg),*) }
            base { $body::<$($garg,)* false>($($arg),*) }
        }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident $(<$($g:ident: $bound:path),+>)?($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?
        => $body:ident::<$($garg:ident),*>) => {
        $crate::backend::cpu::multiversion::multiversion! {
            @emit [$(#[$meta])*] $vis $name [$($($g: $bound),+)?] [$($arg: $ty),*] [$($ret)?]
            prelude {}
            wide { $body::<$($garg),*>($($arg),*) }
            fast { $body::<$($garg),*>($($arg),*) }
            base { $body::<$($garg),*>($($arg),*) }
        }
    };
    (@emit [$(#[$meta:meta])*] $vis:vis $name:ident [$($g:ident: $bound:path),*]
        [$($arg:ident: $ty:ty),*] [$($ret:ty)?]
        prelude { $($prelude:item)* } wide $wide:block fast $fast:block base $base:block) => {
        $(#[$meta])*
        $vis fn $name<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
            $($prelude)*
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn v4<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? $wide
                #[target_feature(enable = "avx2,fma")]
                fn v3<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? $fast
                if std::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F (checked just above).
                    return unsafe { v4::<$($g),*>($($arg),*) };
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                    return unsafe { v3::<$($g),*>($($arg),*) };
                }
            }
            $base
        }
    };
}

pub(crate) use multiversion;
