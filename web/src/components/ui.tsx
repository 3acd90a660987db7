import { useEffect, useRef, useState, type ButtonHTMLAttributes, type InputHTMLAttributes, type ReactNode } from 'react'
import { formatBytes, shortAddr, toBig } from '../lib/format'
import { href } from '../lib/router'

export function Card({ title, actions, children, className = '', testid }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string; testid?: string }) {
  return (
    <section className={`min-w-0 rounded-xl border border-slate-200 bg-white shadow-sm ${className}`} data-testid={testid}>
      {(title || actions) && (
        <header className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-100 px-4 py-3">
          {title && <h2 className="text-sm font-semibold text-slate-800">{title}</h2>}
          {actions && <div className="flex flex-wrap items-center gap-2 text-sm">{actions}</div>}
        </header>
      )}
      <div className="p-4">{children}</div>
    </section>
  )
}

export function PageTitle({ title, sub, children }: { title: ReactNode; sub?: ReactNode; children?: ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-end justify-between gap-3">
      <div className="min-w-0">
        <h1 className="text-xl font-semibold break-words text-slate-900">{title}</h1>
        {sub && <p className="mt-1 text-sm text-slate-500">{sub}</p>}
      </div>
      {children}
    </div>
  )
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div role="status" className="flex items-center gap-2 py-6 text-sm text-slate-500">
      <span className="inline-block h-4 w-4 animate-spin rounded-full border-2 border-slate-300 border-t-slate-600" aria-hidden />
      {label}
    </div>
  )
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <div data-testid="empty-state" className="rounded-lg border border-dashed border-slate-200 px-4 py-6 text-center text-sm text-slate-500">
      {children}
    </div>
  )
}

export function ErrorState({ message, onRetry, title = 'Could not load' }: { message: string; onRetry?: () => void; title?: string }) {
  return (
    <div role="alert" data-testid="error-state" className="rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800">
      <p className="font-medium">{title}</p>
      <p className="mt-1 break-words">{message}</p>
      {onRetry && (
        <button type="button" onClick={onRetry} className="mt-2 rounded-md border border-red-300 bg-white px-2 py-1 text-xs font-medium text-red-800 hover:bg-red-100">
          Retry
        </button>
      )}
    </div>
  )
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false)
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  useEffect(() => () => clearTimeout(timer.current), [])
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text)
    } catch {
      // Fallback for insecure origins: a hidden textarea.
      const ta = document.createElement('textarea')
      ta.value = text
      ta.setAttribute('readonly', '')
      ta.style.position = 'fixed'
      ta.style.opacity = '0'
      document.body.appendChild(ta)
      ta.select()
      try {
        document.execCommand('copy')
      } finally {
        ta.remove()
      }
    }
    setCopied(true)
    clearTimeout(timer.current)
    timer.current = setTimeout(() => setCopied(false), 1500)
  }
  return (
    <button
      type="button"
      onClick={() => void copy()}
      title={`${label}: ${text}`}
      aria-label={`${label} ${text}`}
      className="inline-flex h-6 shrink-0 items-center rounded border border-slate-200 bg-white px-1.5 text-xs text-slate-500 hover:bg-slate-50 hover:text-slate-800"
    >
      {copied ? 'copied' : 'copy'}
    </button>
  )
}

/**
 * Addr shows an address or hash shortened (0x1234…abcd; `full` shows it
 * whole), with a copy button; `link` makes an agent address a link to its page.
 */
export function Addr({ value, full = false, link = false, testid, copy = true }: { value?: string; full?: boolean; link?: boolean; testid?: string; copy?: boolean }) {
  if (!value) return <span className="text-slate-400">—</span>
  const text = full ? value : shortAddr(value)
  const cls = `font-mono text-[13px] ${full ? 'break-all' : 'whitespace-nowrap'}`
  return (
    <span className="inline-flex max-w-full items-center gap-1.5 align-middle">
      {link ? (
        <a href={href.agent(value)} className={`${cls} text-indigo-700 hover:underline`} title={value} data-testid={testid} data-address={value}>
          {text}
        </a>
      ) : (
        <span className={cls} title={value} data-testid={testid} data-address={value}>
          {text}
        </span>
      )}
      {copy && <CopyButton text={value} />}
    </span>
  )
}

/** Bytes shows a byte count in binary units with the exact count in data-bytes and the tooltip. */
export function Bytes({ value, testid, className = '' }: { value: bigint | string | number | undefined; testid?: string; className?: string }) {
  const n = toBig(value)
  return (
    <span className={`tabular-nums ${className}`} data-testid={testid} data-bytes={n.toString()} title={`${n.toLocaleString('en-US')} bytes`}>
      {formatBytes(n)}
    </span>
  )
}

export function Badge({ tone = 'slate', children }: { tone?: 'green' | 'red' | 'amber' | 'slate' | 'indigo'; children: ReactNode }) {
  const tones = {
    green: 'bg-emerald-50 text-emerald-800 ring-emerald-200',
    red: 'bg-red-50 text-red-800 ring-red-200',
    amber: 'bg-amber-50 text-amber-800 ring-amber-200',
    slate: 'bg-slate-100 text-slate-700 ring-slate-200',
    indigo: 'bg-indigo-50 text-indigo-800 ring-indigo-200',
  }
  return <span className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${tones[tone]}`}>{children}</span>
}

export function Stat({ label, children, sub, error }: { label: string; children?: ReactNode; sub?: ReactNode; error?: string }) {
  return (
    <div className="min-w-0 rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
      <p className="text-xs font-medium tracking-wide text-slate-500 uppercase">{label}</p>
      {error ? (
        <p role="alert" className="mt-2 text-sm break-words text-red-700" data-testid="stat-error">
          {error}
        </p>
      ) : (
        <div className="mt-1 text-2xl font-semibold text-slate-900 tabular-nums">{children}</div>
      )}
      {sub && !error && <div className="mt-1 text-xs text-slate-500">{sub}</div>}
    </div>
  )
}

/** Table wraps a table so that it scrolls sideways on a narrow screen. */
export function Table({ children, label }: { children: ReactNode; label?: string }) {
  return (
    <div className="relative -mx-4 overflow-x-auto px-4">
      <table className="w-full min-w-max border-collapse text-left text-sm" aria-label={label}>
        {children}
      </table>
    </div>
  )
}

export const th = 'border-b border-slate-200 px-2 py-2 text-xs font-semibold tracking-wide text-slate-500 uppercase whitespace-nowrap'
export const td = 'border-b border-slate-100 px-2 py-2 align-top'

export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium tracking-wide text-slate-500 uppercase">{label}</dt>
      <dd className="mt-0.5 text-sm break-words text-slate-900">{children}</dd>
    </div>
  )
}

export function Code({ children, copy }: { children: string; copy?: boolean }) {
  return (
    <div className="flex items-start gap-2 rounded-lg bg-slate-900 px-3 py-2">
      <code className="min-w-0 flex-1 font-mono text-xs break-all whitespace-pre-wrap text-slate-100">{children}</code>
      {copy && <CopyButton text={children} />}
    </div>
  )
}

/** Button is the primary action (indigo); type defaults to "button". */
export function Button({ className = '', type = 'button', ...rest }: ButtonHTMLAttributes<HTMLButtonElement>) {
  return (
    <button
      type={type}
      className={`rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium whitespace-nowrap text-white hover:bg-indigo-700 disabled:opacity-50 ${className}`}
      {...rest}
    />
  )
}

/** TextInput is a text field; with a label, wrapped in it (the label above). */
export function TextInput({ label, className = '', labelClassName = '', ...rest }: InputHTMLAttributes<HTMLInputElement> & { label?: ReactNode; labelClassName?: string }) {
  const input = <input className={`min-w-0 rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm font-normal text-slate-900 ${className}`} {...rest} />
  if (label === undefined) return input
  return (
    <label className={`flex flex-col gap-1 text-xs font-medium text-slate-600 ${labelClassName}`}>
      {label}
      {input}
    </label>
  )
}
